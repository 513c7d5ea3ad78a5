"""`serve`'s last startup hook freezes what lives for the whole process out of the GC."""

from __future__ import annotations

import gc

from orderchat.server import _freeze_startup_objects


async def test_startup_objects_are_frozen_out_of_full_collections() -> None:
    gc.unfreeze()
    assert gc.get_freeze_count() == 0
    try:
        await _freeze_startup_objects()
        assert gc.get_freeze_count() > 10_000  # the interpreter, pytest, orderchat's modules
    finally:
        gc.unfreeze()
