"""Message storage on both databases: immutable history, uniqueness, seq without holes."""

from __future__ import annotations

import asyncio
import uuid

import pytest
import sqlalchemy as sa
from sqlalchemy import exc

from orderchat.domain.events import OrderEvent
from orderchat.domain.messages import Message, utcnow_ms
from orderchat.errors import NotFoundError, RoomReadOnlyError
from orderchat.store import Store


async def open_room(store: Store) -> tuple[uuid.UUID, uuid.UUID]:
    oid, cust = uuid.uuid4(), uuid.uuid4()
    await store.rooms.apply_event(
        OrderEvent("accepted", oid, customer_id=cust, vendor_id=uuid.uuid4()), utcnow_ms()
    )
    return oid, cust


async def new_rider(store: Store, oid: uuid.UUID) -> uuid.UUID:
    """A rider assigned to the room: one more participant who may send (as ``rider``)."""
    rider = uuid.uuid4()
    await store.rooms.apply_event(OrderEvent("rider_assigned", oid, rider_id=rider), utcnow_ms())
    return rider


async def send(
    store: Store,
    oid: uuid.UUID,
    sender: uuid.UUID,
    text: str,
    cmid: str | None = None,
    role: str = "customer",
) -> tuple[Message, bool]:
    return await store.messages.append(
        order_id=oid,
        sender_id=sender,
        sender_role=role,
        content=text,
        client_message_id=cmid,
        now=utcnow_ms(),
    )


async def raw(store: Store, sql: str, **params: object) -> None:
    async with store.db.engine.begin() as conn:
        await conn.execute(sa.text(sql), params)


def hexid(value: uuid.UUID, store: Store) -> object:
    """How the Uuid column stores a UUID: native on PostgreSQL, 32 hex chars on SQLite."""
    return value.hex if store.db.is_sqlite else value


async def contents(store: Store, oid: uuid.UUID) -> list[tuple[int, str]]:
    msgs, _ = await store.messages.page(oid, after_seq=0, limit=200)
    return [(m.seq, m.content) for m in msgs]


async def test_update_and_delete_refused_by_trigger(store: Store) -> None:
    oid, cust = await open_room(store)
    await send(store, oid, cust, "first")
    await send(store, oid, cust, "second")
    key = hexid(oid, store)
    for sql in (
        "UPDATE chat_messages SET content = 'edited' WHERE order_id = :o",
        "UPDATE chat_messages SET seq = seq + 10 WHERE order_id = :o",
        "DELETE FROM chat_messages WHERE order_id = :o",
        "DELETE FROM chat_messages",
    ):
        with pytest.raises(exc.DBAPIError, match="immutable"):
            await raw(store, sql, o=key)
    assert await contents(store, oid) == [(1, "first"), (2, "second")]


async def test_raw_insert_into_read_only_room_refused(store: Store) -> None:
    oid, cust = await open_room(store)
    await send(store, oid, cust, "before close")
    await store.rooms.apply_event(OrderEvent("delivered", oid), utcnow_ms())
    with pytest.raises(exc.DBAPIError, match="read-only"):
        await raw(
            store,
            "INSERT INTO chat_messages (message_id, order_id, seq, sender_id, sender_role,"
            " content, created_at) VALUES (:m, :o, 2, :s, 'customer', 'sneaky', :t)",
            m=hexid(uuid.uuid4(), store),
            o=hexid(oid, store),
            s=hexid(cust, store),
            t=utcnow_ms().replace(tzinfo=None) if store.db.is_sqlite else utcnow_ms(),
        )
    assert await contents(store, oid) == [(1, "before close")]


async def test_append_on_closed_room_raises(store: Store) -> None:
    oid, cust = await open_room(store)
    await send(store, oid, cust, "hi", "c1")
    await store.rooms.apply_event(OrderEvent("cancelled", oid), utcnow_ms())
    with pytest.raises(RoomReadOnlyError):
        await send(store, oid, cust, "too late")
    # Even a retry of an earlier clientMessageId is answered, never stored anew.
    original, duplicate = await send(store, oid, cust, "hi", "c1")
    assert duplicate and original.seq == 1
    room = await store.rooms.get(oid)
    assert room is not None and room.last_seq == 1 and room.read_only
    assert await contents(store, oid) == [(1, "hi")]


async def test_append_to_unknown_room(store: Store) -> None:
    with pytest.raises(NotFoundError):
        await send(store, uuid.uuid4(), uuid.uuid4(), "hello?")


async def test_duplicate_client_message_id_returns_the_original(store: Store) -> None:
    oid, cust = await open_room(store)
    first, dup = await send(store, oid, cust, "hello", "cm-1")
    assert not dup and first.seq == 1 and first.client_message_id == "cm-1"
    again, dup = await send(store, oid, cust, "hello (retry, other text)", "cm-1")
    assert dup and again == first
    # Same clientMessageId, different sender or room: a new message.
    rider = await new_rider(store, oid)
    other_sender, dup = await send(store, oid, rider, "mine", "cm-1", role="rider")
    assert not dup and other_sender.seq == 2
    oid2 = uuid.uuid4()  # another order of the same customer
    await store.rooms.apply_event(
        OrderEvent("accepted", oid2, customer_id=cust, vendor_id=uuid.uuid4()), utcnow_ms()
    )
    other_room, dup = await send(store, oid2, cust, "elsewhere", "cm-1")
    assert not dup and other_room.seq == 1
    assert await contents(store, oid) == [(1, "hello"), (2, "mine")]


async def test_concurrent_duplicates_store_once(store: Store) -> None:
    oid, cust = await open_room(store)
    results = await asyncio.gather(*(send(store, oid, cust, "once", "same") for _ in range(10)))
    assert len({m.message_id for m, _ in results}) == 1
    assert sum(not dup for _, dup in results) == 1
    assert await contents(store, oid) == [(1, "once")]


async def test_unique_constraints_enforced(store: Store) -> None:
    oid, cust = await open_room(store)
    msg, _ = await send(store, oid, cust, "one", "cm")
    insert = (
        "INSERT INTO chat_messages (message_id, order_id, seq, sender_id, sender_role,"
        " content, client_message_id, created_at) VALUES (:m, :o, :q, :s, 'customer', 'x', :c, :t)"
    )
    now = utcnow_ms().replace(tzinfo=None) if store.db.is_sqlite else utcnow_ms()
    common = {"o": hexid(oid, store), "s": hexid(cust, store), "t": now}
    with pytest.raises(exc.IntegrityError):  # same (room, seq)
        await raw(store, insert, m=hexid(uuid.uuid4(), store), q=1, c="other", **common)
    with pytest.raises(exc.IntegrityError):  # same (room, sender, clientMessageId)
        await raw(store, insert, m=hexid(uuid.uuid4(), store), q=2, c="cm", **common)
    assert await contents(store, oid) == [(1, "one")]
    assert msg.seq == 1


async def test_fifty_concurrent_appends_get_seq_1_to_50(store: Store) -> None:
    oid, cust = await open_room(store)
    results = await asyncio.gather(*(send(store, oid, cust, f"m{i}") for i in range(50)))
    assert sorted(m.seq for m, _ in results) == list(range(1, 51))
    assert not any(dup for _, dup in results)
    stored = await contents(store, oid)
    assert [seq for seq, _ in stored] == list(range(1, 51))
    assert {text for _, text in stored} == {f"m{i}" for i in range(50)}
    room = await store.rooms.get(oid)
    assert room is not None and room.last_seq == 50


async def test_close_racing_appends_never_stores_after_close(store: Store) -> None:
    oid, cust = await open_room(store)

    async def try_send(i: int) -> int | None:
        try:
            msg, _ = await send(store, oid, cust, f"r{i}")
        except RoomReadOnlyError:
            return None
        return msg.seq

    sends = [try_send(i) for i in range(30)]
    close = store.rooms.apply_event(OrderEvent("delivered", oid), utcnow_ms())
    outcome = await asyncio.gather(*sends[:15], close, *sends[15:])
    seqs = sorted(s for s in outcome if isinstance(s, int))
    room = await store.rooms.get(oid)
    assert room is not None and room.read_only and room.closed_at is not None
    assert seqs == list(range(1, len(seqs) + 1)) and room.last_seq == len(seqs)
    stored = await store.messages.page(oid, after_seq=0, limit=200)
    assert [m.seq for m in stored[0]] == seqs
