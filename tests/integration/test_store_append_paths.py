"""MessageStore.append's paths after the round-trip cut (both databases): a retry is found
through the unique constraint, its rolled-back seq bump leaves no hole, and a retry to a
room closed since still gets its duplicate answer."""

from __future__ import annotations

import asyncio

import pytest
import sqlalchemy as sa

from orderchat.domain.events import OrderEvent
from orderchat.domain.messages import utcnow_ms
from orderchat.errors import RoomReadOnlyError
from orderchat.store import Store
from orderchat.store.schema import chat_rooms
from tests.integration.test_store_messages import contents, open_room, send


async def test_retry_rolls_back_its_seq_bump(store: Store) -> None:
    oid, cust = await open_room(store)
    first, _ = await send(store, oid, cust, "one", "cm-1")
    for _ in range(3):
        again, dup = await send(store, oid, cust, "one", "cm-1")
        assert dup and again == first
    second, dup = await send(store, oid, cust, "two", "cm-2")
    assert not dup and second.seq == 2  # the three retries consumed no seq
    view = await store.rooms.get(oid)
    assert view is not None and view.last_seq == 2
    assert await contents(store, oid) == [(1, "one"), (2, "two")]


async def test_retry_to_a_closed_room_is_still_a_duplicate(store: Store) -> None:
    oid, cust = await open_room(store)
    first, _ = await send(store, oid, cust, "before close", "cm-1")
    await store.rooms.apply_event(OrderEvent("delivered", oid), utcnow_ms())
    again, dup = await send(store, oid, cust, "before close", "cm-1")
    assert dup and again == first
    with pytest.raises(RoomReadOnlyError):  # a new message is refused
        await send(store, oid, cust, "after close", "cm-2")
    with pytest.raises(RoomReadOnlyError):
        await send(store, oid, cust, "after close")


async def test_a_pooled_connection_is_transactional_again_after_an_append(store: Store) -> None:
    # PostgreSQL appends run in autocommit; the connection goes back to the pool after
    oid, cust = await open_room(store)
    await send(store, oid, cust, "one")
    for _ in range(3):
        with pytest.raises(RuntimeError):
            async with store.db.write() as conn:
                await conn.execute(
                    sa.update(chat_rooms).where(chat_rooms.c.order_id == oid).values(last_seq=99)
                )
                raise RuntimeError("roll back")
    view = await store.rooms.get(oid)
    assert view is not None and view.last_seq == 1  # every change above rolled back
    second, _ = await send(store, oid, cust, "two")
    assert second.seq == 2


async def test_many_concurrent_appends_and_retries_store_each_message_once(store: Store) -> None:
    oid, cust = await open_room(store)
    sends = [send(store, oid, cust, f"m{i % 10}", f"c{i % 10}") for i in range(40)]
    results = await asyncio.gather(*sends)
    assert sum(not dup for _, dup in results) == 10
    assert sorted({m.seq for m, _ in results}) == list(range(1, 11))
    assert len(await contents(store, oid)) == 10
