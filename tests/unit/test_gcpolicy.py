"""`serve`'s GC policy: startup objects frozen, no full collection on growth, a timed one."""

from __future__ import annotations

import asyncio
import gc
import weakref

from orderchat.gcpolicy import NO_AUTOMATIC_FULL, GcPolicy


class Node:
    def __init__(self) -> None:
        self.other: Node | None = None


async def test_policy_freezes_startup_and_collects_old_cycles_on_its_timer() -> None:
    before = gc.get_threshold()
    policy = GcPolicy(every=0.2)
    await policy.start()
    try:
        assert gc.get_freeze_count() > 10_000  # the interpreter, pytest, orderchat's modules
        assert gc.get_threshold()[2] == NO_AUTOMATIC_FULL
        a, b = Node(), Node()
        a.other, b.other = b, a  # a cycle: only the cyclic collector can free it
        gc.collect(1)
        gc.collect(1)  # survived twice: now in the oldest generation
        alive = weakref.ref(a)
        del a, b
        gc.collect(1)  # the young generations do not reach it
        assert alive() is not None
        for _ in range(50):
            await asyncio.sleep(0.05)
            if alive() is None:
                break
        assert alive() is None  # the timed full collection freed it
    finally:
        await policy.stop()
        gc.unfreeze()
    assert gc.get_threshold() == before
