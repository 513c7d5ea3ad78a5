"""RoomStore on both databases: concurrent events, outcomes, what a room remembers."""

from __future__ import annotations

import asyncio
import random
import uuid
from datetime import UTC, datetime, timedelta

from orderchat.domain.events import OrderEvent, parse_event
from orderchat.domain.messages import utcnow_ms
from orderchat.store import Store


async def test_concurrent_events_for_one_order(store: Store) -> None:
    oid, cust, vend = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    r1, r2, r3 = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    log = [
        OrderEvent("accepted", oid, customer_id=cust, vendor_id=vend),
        OrderEvent("rider_assigned", oid, rider_id=r1),
        OrderEvent("rider_unassigned", oid, rider_id=r1),
        OrderEvent("rider_assigned", oid, rider_id=r2),
        OrderEvent("rider_assigned", oid, rider_id=r3),
        OrderEvent("rider_unassigned", oid, rider_id=r3),
    ]
    burst = log * 4
    random.Random(7).shuffle(burst)
    results = await asyncio.gather(*(store.rooms.apply_event(e, utcnow_ms()) for e in burst))
    # Each distinct event changes the room exactly once, whatever the interleaving.
    assert sum(r.changed for r in results) == len(log)
    room = await store.rooms.get(oid)
    assert room is not None and not room.read_only
    assert set(room.participants) == {(cust, "customer"), (vend, "vendor"), (r2, "rider")}

    closes = [OrderEvent("delivered", oid), OrderEvent("cancelled", oid)] * 3
    results = await asyncio.gather(*(store.rooms.apply_event(e, utcnow_ms()) for e in closes))
    closed = [r for r in results if r.changes.closed]
    assert len(closed) == 1 and closed[0].closed_at is not None
    room = await store.rooms.get(oid)
    assert room is not None and room.read_only
    assert room.closed_reason == closed[0].changes.closed
    assert room.closed_at == closed[0].closed_at


async def test_changes_reported(store: Store) -> None:
    oid, cust, vend, rider = (uuid.uuid4() for _ in range(4))
    first = await store.rooms.apply_event(
        OrderEvent("accepted", oid, customer_id=cust, vendor_id=vend), utcnow_ms()
    )
    assert first.changed and set(first.changes.joined) == {(cust, "customer"), (vend, "vendor")}
    joined = await store.rooms.apply_event(
        OrderEvent("rider_assigned", oid, rider_id=rider), utcnow_ms()
    )
    assert joined.changes.joined == [(rider, "rider")] and not joined.changes.left
    again = await store.rooms.apply_event(
        OrderEvent("rider_assigned", oid, rider_id=rider), utcnow_ms()
    )
    assert not again.changed and not again.changes.any
    left = await store.rooms.apply_event(
        OrderEvent("rider_unassigned", oid, rider_id=rider), utcnow_ms()
    )
    assert left.changed and left.changes.left == [(rider, "rider")]
    closed = await store.rooms.apply_event(OrderEvent("cancelled", oid), utcnow_ms())
    assert closed.changes.closed == "cancelled" and closed.closed_at is not None
    late = await store.rooms.apply_event(OrderEvent("delivered", oid), utcnow_ms())
    assert not late.changed and late.closed_at is None


async def test_many_rooms_concurrently(store: Store) -> None:
    orders = [(uuid.uuid4(), uuid.uuid4(), uuid.uuid4()) for _ in range(20)]
    events = [OrderEvent("accepted", o, customer_id=c, vendor_id=v) for o, c, v in orders]
    results = await asyncio.gather(*(store.rooms.apply_event(e, utcnow_ms()) for e in events * 2))
    assert sum(r.changed for r in results) == 20
    rooms, cursor = await store.rooms.list(state="open", user_id=None, limit=200, cursor=None)
    assert cursor is None and {r.order_id for r in rooms} >= {o for o, _, _ in orders}


async def test_get_returns_the_room_with_aware_utc_times_and_ordered_participants(
    store: Store,
) -> None:
    """RoomStore.get (PostgreSQL: through asyncpg directly) gives what the REST view of the
    same room gives: times in UTC, active participants customer, vendor, rider."""
    oid, cust, vend, rider = (uuid.uuid4() for _ in range(4))
    now = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
    accepted = parse_event(
        "order.accepted", {"orderId": str(oid), "customerId": str(cust), "vendorId": str(vend)}
    )
    await store.rooms.apply_event(accepted, now)
    assigned = parse_event("order.rider_assigned", {"orderId": str(oid), "riderId": str(rider)})
    await store.rooms.apply_event(assigned, now)
    delivered = parse_event(
        "order.delivered", {"orderId": str(oid), "deliveredAt": "2026-11-24T12:05:00Z"}
    )
    await store.rooms.apply_event(delivered, now + timedelta(minutes=5))
    view = await store.rooms.get(oid)
    assert view is not None
    assert view.created_at == now and view.created_at.tzinfo is not None
    assert view.closed_at == now + timedelta(minutes=5)
    assert view.read_only and view.closed_reason == "delivered" and view.last_seq == 0
    assert view.participants == [(cust, "customer"), (vend, "vendor"), (rider, "rider")]
    assert await store.rooms.get(uuid.uuid4()) is None
