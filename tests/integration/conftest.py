"""Fixtures of the integration tests."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from orderchat.store import Store


@pytest.fixture
async def store(db_url: str) -> AsyncIterator[Store]:
    """A migrated store on the test's database (SQLite or PostgreSQL, see ``db_url``)."""
    s = Store.from_url(db_url)
    await s.migrate()
    yield s
    await s.close()
