"""The schema's guards as the migrations leave them, on both databases; on PostgreSQL
the closed-room guard is one check per INSERT statement (0002) and downgrades to 0001's
per-row check."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest
import sqlalchemy as sa
from alembic import command
from sqlalchemy import exc
from sqlalchemy.engine import Connection

from orderchat.domain.events import OrderEvent
from orderchat.domain.messages import utcnow_ms
from orderchat.store import Store
from orderchat.store.migrate import _config
from tests.conftest import _recreate_pg, pg_url
from tests.integration.test_store_messages import hexid

INSERT_TWO = (
    "INSERT INTO chat_messages (message_id, order_id, seq, sender_id, sender_role, content,"
    " created_at) VALUES (:m1, :open, 1, :s, 'customer', 'fine', :t),"
    " (:m2, :closed, 1, :s, 'customer', 'sneaky', :t)"
)


# the customer of every room these tests open, so the rows they insert pass 0003's
# participant guard and only the closed-room guard is tested
CUSTOMER = uuid.uuid4()


async def _room(store: Store, *, closed: bool) -> uuid.UUID:
    oid = uuid.uuid4()
    await store.rooms.apply_event(
        OrderEvent("accepted", oid, customer_id=CUSTOMER, vendor_id=uuid.uuid4()), utcnow_ms()
    )
    if closed:
        await store.rooms.apply_event(OrderEvent("delivered", oid), utcnow_ms())
    return oid


async def _insert_two(store: Store, first: uuid.UUID, second: uuid.UUID) -> None:
    now = utcnow_ms()
    async with store.db.engine.begin() as conn:
        await conn.execute(
            sa.text(INSERT_TWO),
            {
                "m1": hexid(uuid.uuid4(), store),
                "m2": hexid(uuid.uuid4(), store),
                "open": hexid(first, store),
                "closed": hexid(second, store),
                "s": hexid(CUSTOMER, store),
                "t": now.replace(tzinfo=None) if store.db.is_sqlite else now,
            },
        )


async def _count(store: Store) -> int:
    async with store.db.read() as conn:
        return int((await conn.execute(sa.text("SELECT count(*) FROM chat_messages"))).scalar_one())


async def test_statement_touching_a_closed_room_is_refused_whole(store: Store) -> None:
    open_oid = await _room(store, closed=False)
    closed_oid = await _room(store, closed=True)
    with pytest.raises(exc.DBAPIError, match="read-only"):
        await _insert_two(store, open_oid, closed_oid)
    assert await _count(store) == 0  # the open room's row went with the statement


async def test_statement_into_open_rooms_is_stored(store: Store) -> None:
    first, second = await _room(store, closed=False), await _room(store, closed=False)
    await _insert_two(store, first, second)
    assert await _count(store) == 2


@pytest.fixture
async def own_pg() -> AsyncIterator[Store]:
    """A PostgreSQL database of this test's own (migrated to head): it migrates down and
    up again."""
    url = pg_url() + "_migrations"
    await _recreate_pg(url)
    s = Store.from_url(url)
    yield s
    await s.close()


async def _guard_per_row(store: Store) -> bool:
    async with store.db.read() as conn:
        tgtype = (
            await conn.execute(
                sa.text(
                    "SELECT tgtype FROM pg_trigger"
                    " WHERE tgname = 'chat_messages_room_open' AND NOT tgisinternal"
                )
            )
        ).scalar_one()
    return bool(tgtype & 1)  # TRIGGER_TYPE_ROW


async def _migrate(store: Store, revision: str, *, down: bool) -> None:
    def run(connection: Connection) -> None:
        step = command.downgrade if down else command.upgrade
        step(_config(connection), revision)

    async with store.db.write() as conn:
        await conn.run_sync(run)


async def test_postgres_guard_per_statement_and_back(own_pg: Store) -> None:
    assert await _guard_per_row(own_pg) is False
    await _migrate(own_pg, "0001", down=True)
    assert await _guard_per_row(own_pg) is True
    open_oid = await _room(own_pg, closed=False)
    closed_oid = await _room(own_pg, closed=True)
    with pytest.raises(exc.DBAPIError, match="read-only"):
        await _insert_two(own_pg, open_oid, closed_oid)
    await _migrate(own_pg, "head", down=False)
    assert await _guard_per_row(own_pg) is False
    with pytest.raises(exc.DBAPIError, match=f"room {closed_oid} is read-only"):
        await _insert_two(own_pg, open_oid, closed_oid)
    assert await _count(own_pg) == 0
