"""PostgreSQL pool: a connection idle past PING_AFTER_IDLE_SECONDS is pinged at checkout
and replaced when dead; a busy one is not pinged, and when the server dropped it the
statement fails as UNAVAILABLE once, then the pool reconnects."""

from __future__ import annotations

import asyncpg
import pytest
import sqlalchemy as sa

from orderchat.errors import UnavailableError
from orderchat.store import db as dbmod
from orderchat.store.db import Database


async def backend_pid(db: Database) -> int:
    async with db.read() as conn:
        return int((await conn.execute(sa.text("SELECT pg_backend_pid()"))).scalar_one())


async def hold_two_then_kill_first(db: Database, url: str) -> int:
    """Two connections in the pool (both checked in); the server then terminates the one
    that served the first; returns its pid."""
    async with db.read() as c1, db.read() as c2:
        pid = int((await c1.execute(sa.text("SELECT pg_backend_pid()"))).scalar_one())
        await c2.execute(sa.text("SELECT 1"))
    killer = await asyncpg.connect(url)
    try:  # the timeout argument waits until the backend has really exited
        assert await killer.fetchval("SELECT pg_terminate_backend($1, 5000)", pid)
    finally:
        await killer.close()
    return pid


@pytest.fixture
def pg_url(postgres_db: str) -> str:
    return postgres_db


async def test_idle_connection_is_pinged_and_replaced(
    pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(dbmod, "PING_AFTER_IDLE_SECONDS", 0.0)  # every checkout pings
    db = Database(pg_url)
    try:
        killed = await hold_two_then_kill_first(db, pg_url)
        for _ in range(4):  # each checkout finds the dead one replaced: no error at all
            assert await backend_pid(db) != killed
    finally:
        await db.close()


async def test_busy_connection_fails_once_then_the_pool_recovers(
    pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(dbmod, "PING_AFTER_IDLE_SECONDS", 3600.0)  # never pinged here
    db = Database(pg_url)
    try:
        killed = await hold_two_then_kill_first(db, pg_url)
        failures = 0
        for _ in range(4):
            try:
                assert await backend_pid(db) != killed
            except UnavailableError:
                failures += 1
        assert failures == 1  # not pinged: its one statement fails, then it is replaced
        assert await backend_pid(db) != killed
    finally:
        await db.close()
