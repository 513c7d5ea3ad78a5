"""MessageStore.append's paths after the round-trip cut (both databases): a retry is found
through the unique constraint, its rolled-back seq bump leaves no hole, and a retry to a
room closed since still gets its duplicate answer."""

from __future__ import annotations

import pytest

from orderchat.domain.events import OrderEvent
from orderchat.domain.messages import utcnow_ms
from orderchat.errors import RoomReadOnlyError
from orderchat.store import Store
from tests.integration.test_store_messages import contents, open_room, send, store

__all__ = ["store"]  # the fixture, shared


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
