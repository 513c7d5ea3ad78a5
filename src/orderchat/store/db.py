"""Engine, transactions and the mapping of driver failures to UnavailableError."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import asyncpg  # type: ignore[import-untyped]
import sqlalchemy as sa
from sqlalchemy import event, exc
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from orderchat.errors import UnavailableError
from orderchat.store.sqlite_file import create_private

# A pooled PostgreSQL connection is pinged when it is checked out after sitting idle this
# long (a ping costs BEGIN, a query and ROLLBACK: three round trips, more than a send).
# One that is busy is not: if the server dropped it meanwhile, its next statement fails
# (UNAVAILABLE, retryable) and every pooled connection older than that is replaced.
PING_AFTER_IDLE_SECONDS = 5.0

# exc.TimeoutError: no pooled connection freed up within pool_timeout (an overload)
_TRANSIENT = (
    exc.OperationalError,
    exc.InterfaceError,
    exc.TimeoutError,
    OSError,
    TimeoutError,
    ConnectionError,
)


# direct(): failures that mean the connection is lost, not that the statement is wrong
_DIRECT_LOST = (asyncpg.InterfaceError, OSError, TimeoutError, ConnectionError)
_DRIVER_LOST = (*_DIRECT_LOST, asyncpg.PostgresConnectionError)


def async_url(url: str) -> str:
    """The SQLAlchemy async URL for a ``sqlite:///`` or ``postgresql://`` URL."""
    if url.startswith("sqlite:///"):
        return "sqlite+aiosqlite:///" + url.removeprefix("sqlite:///")
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+asyncpg://" + url.removeprefix(prefix)
    return url


def is_unavailable(error: BaseException) -> bool:
    if isinstance(error, exc.DBAPIError) and error.connection_invalidated:
        return True
    return isinstance(error, _TRANSIENT)


class Database:
    """One engine; ``read()``/``write()`` transactions; SQLite writes serialised in-process."""

    def __init__(self, url: str) -> None:
        self.url = url
        aurl = async_url(url)
        self.is_sqlite = aurl.startswith("sqlite")
        kwargs: dict[str, Any] = {}
        self._connect_args: dict[str, Any] = {}
        if self.is_sqlite:
            path = aurl.removeprefix("sqlite+aiosqlite:///")
            if path and path != ":memory:":
                Path(path).parent.mkdir(parents=True, exist_ok=True)
                create_private(Path(path))  # 0600: sqlite_file.py
            kwargs["connect_args"] = {"timeout": 15}
        else:
            self._connect_args = {
                "timeout": 5,
                "command_timeout": 15,
                # asyncpg prepares every statement; after 5 runs PostgreSQL may switch
                # to a generic plan and keep it until the next ANALYZE. A plan made
                # while chat_messages was empty (a new database) scans the table for
                # the clientMessageId check, so each batch grew slower with the table:
                # e2e p50 16 -> 100 ms over a 60 s bench at 2,000 msg/s. A custom plan
                # per execution costs ~0.1 ms and always sees the table as it is.
                "server_settings": {"plan_cache_mode": "force_custom_plan"},
            }
            kwargs.update(
                pool_size=10, max_overflow=20, pool_timeout=5, connect_args=self._connect_args
            )
        # hide_parameters: a driver error must never carry message text into a log line.
        self.engine: AsyncEngine = create_async_engine(aurl, hide_parameters=True, **kwargs)
        # SQLite allows one writer at a time; an in-process lock avoids "database is locked".
        self._write_lock = asyncio.Lock() if self.is_sqlite else None
        # direct(): idle asyncpg connections of our own, each with when it was last used
        self._direct_idle: list[tuple[asyncpg.Connection, float]] = []
        self._closed = False
        if self.is_sqlite:
            event.listen(self.engine.sync_engine, "connect", _sqlite_pragmas)
        else:
            event.listen(self.engine.sync_engine, "checkout", _ping_if_idle)
            event.listen(self.engine.sync_engine, "checkin", _note_checkin)

    @property
    def dialect(self) -> str:
        return "sqlite" if self.is_sqlite else "postgresql"

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncConnection]:
        try:
            async with self.engine.connect() as conn:
                yield conn
        except Exception as error:
            if is_unavailable(error):
                raise UnavailableError("database unavailable") from error
            raise

    @asynccontextmanager
    async def write(self) -> AsyncIterator[AsyncConnection]:
        try:
            if self._write_lock is None:
                async with self.engine.begin() as conn:
                    yield conn
            else:
                async with self._write_lock, self.engine.begin() as conn:
                    yield conn
        except Exception as error:
            if is_unavailable(error):
                raise UnavailableError("database unavailable") from error
            raise

    @asynccontextmanager
    async def autocommit(self) -> AsyncIterator[AsyncConnection]:
        """PostgreSQL: a connection whose statements each commit by themselves (no BEGIN
        and COMMIT round trips). Only for a write that is a single statement, which
        PostgreSQL applies atomically."""
        if self.is_sqlite:
            raise RuntimeError("autocommit() is for PostgreSQL; use write() on SQLite")
        try:
            async with self.engine.connect() as conn:
                await conn.execution_options(isolation_level="AUTOCOMMIT")
                yield conn
        except Exception as error:
            if is_unavailable(error):
                raise UnavailableError("database unavailable") from error
            raise

    @asynccontextmanager
    async def pooled_driver(self) -> AsyncIterator[asyncpg.Connection]:
        """PostgreSQL: the asyncpg connection under one of the pool's connections, for a
        single read statement outside a transaction (the handshake's room read, see
        ``RoomStore.get``): SQLAlchemy's statement layer (cache key, compile lookup,
        result processing) is ~40 % of that read's CPU. A lost connection is invalidated
        (never returned to the pool) and raised as UnavailableError."""
        if self.is_sqlite:
            raise RuntimeError("pooled_driver() is for PostgreSQL")
        try:
            async with self.engine.connect() as conn:
                raw = await conn.get_raw_connection()
                driver: asyncpg.Connection = raw.driver_connection
                try:
                    yield driver
                except _DRIVER_LOST:
                    await conn.invalidate()
                    raise
        except Exception as error:
            if isinstance(error, _DRIVER_LOST) or is_unavailable(error):
                raise UnavailableError("database unavailable") from error
            raise

    @asynccontextmanager
    async def direct(self) -> AsyncIterator[asyncpg.Connection]:
        """PostgreSQL: an asyncpg connection of our own, outside SQLAlchemy's pool, for the
        group commit (store/append.py). A statement on it commits by itself (no BEGIN).

        SQLAlchemy's checkout (greenlet, pool events, a timed queue get) and its cursor
        layer cost ~150 us of CPU per statement, more than asyncpg's own execution of a
        one-message batch. These connections have the same settings as the pool's
        (force_custom_plan included) and the same rules: one idle past
        PING_AFTER_IDLE_SECONDS is pinged first and replaced when dead; a lost one fails
        its statement as UnavailableError and is dropped. A unique key hit is raised as
        SQLAlchemy's IntegrityError, like on the pool's connections. As many connections
        as are used at once (the group writer's batches in flight)."""
        if self.is_sqlite:
            raise RuntimeError("direct() is for PostgreSQL; use write() on SQLite")
        conn = await self._direct_checkout()
        try:
            yield conn
        except asyncpg.IntegrityConstraintViolationError as error:
            self._direct_checkin(conn)
            raise exc.IntegrityError(None, None, error) from error
        except asyncpg.PostgresError as error:
            if conn.is_closed() or isinstance(error, asyncpg.PostgresConnectionError):
                conn.terminate()  # e.g. the server shut down (57P01): the session is gone
                raise UnavailableError("database unavailable") from error
            self._direct_checkin(conn)  # a statement error: the connection is fine
            raise
        except BaseException as error:
            # lost, timed out (a cancel may still be under way) or cancelled: never reused
            conn.terminate()
            if isinstance(error, _DIRECT_LOST):
                raise UnavailableError("database unavailable") from error
            raise
        else:
            self._direct_checkin(conn)

    async def _direct_checkout(self) -> asyncpg.Connection:
        while self._direct_idle:
            conn, since = self._direct_idle.pop()
            if conn.is_closed():
                continue
            if time.monotonic() - since < PING_AFTER_IDLE_SECONDS:
                return conn
            try:
                await conn.execute("SELECT 1")
                return conn
            except Exception:
                conn.terminate()
        try:
            args, opts = self.engine.dialect.create_connect_args(self.engine.url)
            opts.pop("prepared_statement_cache_size", None)
            opts.pop("prepared_statement_name_func", None)
            fresh: asyncpg.Connection = await asyncpg.connect(*args, **opts, **self._connect_args)
        except Exception as error:
            raise UnavailableError("database unavailable") from error
        return fresh

    def _direct_checkin(self, conn: asyncpg.Connection) -> None:
        if self._closed or conn.is_closed():
            conn.terminate()
            return
        self._direct_idle.append((conn, time.monotonic()))

    async def ping(self) -> None:
        async def _ping() -> None:
            async with self.read() as conn:
                await conn.execute(sa.text("SELECT 1"))

        try:
            await asyncio.wait_for(_ping(), 2.0)
        except TimeoutError:
            raise UnavailableError("database did not answer") from None

    async def close(self) -> None:
        self._closed = True
        idle, self._direct_idle = self._direct_idle, []
        for conn, _ in idle:
            try:
                await conn.close(timeout=2)
            except Exception:
                conn.terminate()
        await self.engine.dispose()


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA busy_timeout=15000")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.close()


def _ping_if_idle(dbapi_conn: Any, record: Any, _proxy: Any) -> None:
    """Pool checkout: ping a connection that sat idle (or is new to this check); a dead
    one is replaced (DisconnectionError makes the pool connect afresh)."""
    checked_in = record.info.get("orderchat_checked_in")
    if checked_in is not None and time.monotonic() - checked_in < PING_AFTER_IDLE_SECONDS:
        return
    try:
        dbapi_conn.ping()
    except Exception as error:
        raise exc.DisconnectionError("stale pooled connection") from error


def _note_checkin(_dbapi_conn: Any, record: Any) -> None:
    record.info["orderchat_checked_in"] = time.monotonic()
