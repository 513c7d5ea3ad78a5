"""Which database failures are "unavailable" (503 / UNAVAILABLE) rather than a bug (500)."""

from __future__ import annotations

import pytest
from sqlalchemy import exc

from orderchat.errors import UnavailableError
from orderchat.store.db import Database, is_unavailable


def test_pool_timeout_is_unavailable() -> None:
    # raised by the pool when every connection stays busy for pool_timeout seconds
    assert is_unavailable(exc.TimeoutError("QueuePool limit reached"))


def test_a_programming_error_is_not_unavailable() -> None:
    assert not is_unavailable(exc.ProgrammingError("SELECT", {}, Exception("syntax")))
    assert not is_unavailable(ValueError("bug"))


async def test_write_maps_pool_timeout_to_unavailable(tmp_path: object) -> None:
    db = Database(f"sqlite:///{tmp_path}/t.db")
    try:
        with pytest.raises(UnavailableError):
            async with db.write():
                raise exc.TimeoutError("QueuePool limit reached")
    finally:
        await db.close()
