"""PostgreSQL pool: a connection idle past PING_AFTER_IDLE_SECONDS is pinged at checkout
and replaced when dead; a busy one is not pinged, and when the server dropped it the
statement fails as UNAVAILABLE once, then the pool reconnects."""

from __future__ import annotations

import asyncio

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


async def direct_pid(db: Database) -> int:
    async with db.direct() as conn:
        return int(await conn.fetchval("SELECT pg_backend_pid()"))


async def kill(url: str, pid: int) -> None:
    killer = await asyncpg.connect(url)
    try:
        assert await killer.fetchval("SELECT pg_terminate_backend($1, 5000)", pid)
    finally:
        await killer.close()


async def test_direct_connection_is_reused_and_pinged_when_idle(
    pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = Database(pg_url)
    try:
        pid = await direct_pid(db)
        assert await direct_pid(db) == pid  # kept for the next batch, not reconnected
        await kill(pg_url, pid)
        monkeypatch.setattr(dbmod, "PING_AFTER_IDLE_SECONDS", 0.0)  # every checkout pings
        assert await direct_pid(db) != pid  # the dead one was found and replaced: no error
    finally:
        await db.close()


async def test_direct_connection_closed_by_the_server_is_replaced_without_error(
    pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(dbmod, "PING_AFTER_IDLE_SECONDS", 3600.0)  # never pinged here
    db = Database(pg_url)
    try:
        pid = await direct_pid(db)
        await kill(pg_url, pid)  # asyncpg sees the close: the idle connection is dropped
        assert await direct_pid(db) != pid
    finally:
        await db.close()


async def test_direct_connection_lost_in_a_statement_fails_it_then_is_replaced(
    pg_url: str,
) -> None:
    db = Database(pg_url)
    try:
        pid = await direct_pid(db)

        async def sleep_on_it() -> None:
            async with db.direct() as conn:
                await conn.execute("SELECT pg_sleep(10)")

        sleeping = asyncio.ensure_future(sleep_on_it())
        await asyncio.sleep(0.2)
        await kill(pg_url, pid)
        with pytest.raises(UnavailableError):
            await sleeping
        assert await direct_pid(db) != pid
    finally:
        await db.close()


async def test_direct_connection_survives_a_statement_error(pg_url: str) -> None:
    db = Database(pg_url)
    try:
        pid = await direct_pid(db)
        with pytest.raises(asyncpg.PostgresError):
            async with db.direct() as conn:
                await conn.execute("SELECT * FROM no_such_table")
        with pytest.raises(sa.exc.IntegrityError):  # a unique key hit: as on the pool
            async with db.direct() as conn:
                await conn.execute("CREATE TEMP TABLE t (k int PRIMARY KEY)")
                await conn.execute("INSERT INTO t VALUES (1), (1)")
        assert await direct_pid(db) == pid  # still the same connection
    finally:
        await db.close()


async def driver_pid(db: Database) -> int:
    async with db.pooled_driver() as conn:
        return int(await conn.fetchval("SELECT pg_backend_pid()"))


async def test_pooled_driver_lost_connection_fails_once_and_is_not_returned(
    pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The handshake's room read (RoomStore.get) runs on the pool's asyncpg connection
    itself: a connection the server dropped fails that read as UNAVAILABLE, once, and is
    invalidated, so the next read gets a fresh one."""
    monkeypatch.setattr(dbmod, "PING_AFTER_IDLE_SECONDS", 3600.0)  # never pinged here
    db = Database(pg_url)
    try:
        pid = await driver_pid(db)
        assert await driver_pid(db) == pid  # the pool's connection, reused
        await kill(pg_url, pid)
        failures = 0
        for _ in range(3):
            try:
                assert await driver_pid(db) != pid
            except UnavailableError:
                failures += 1
        assert failures <= 1
        assert await driver_pid(db) != pid
    finally:
        await db.close()
