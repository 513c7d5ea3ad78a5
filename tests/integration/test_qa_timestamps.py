"""QA: message timestamps never go backwards along seq (SPEC 5.2, on both databases).

A sender's timestamp is taken before its transaction waits for the room's row lock, so
under concurrency (or with another instance's clock a little behind) a message with a
higher seq could carry an earlier timestamp — seen on PostgreSQL with ten concurrent
senders: 14 inversions in 42 messages, up to 43 ms. A chat client shows messages in seq
order next to their times; they must read as non-decreasing.
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta

from orderchat.domain.events import OrderEvent
from orderchat.domain.messages import rfc3339_ms, utcnow_ms
from orderchat.services import Services


async def test_a_later_seq_never_gets_an_earlier_timestamp(services: Services) -> None:
    store = services.store
    await store.migrate()
    oid, cust = uuid.uuid4(), uuid.uuid4()
    await store.rooms.apply_event(
        OrderEvent("accepted", oid, customer_id=cust, vendor_id=uuid.uuid4()), utcnow_ms()
    )
    base = utcnow_ms()
    # the clock as each sender read it before waiting for the lock (or another
    # instance's clock): not in seq order
    offsets = [0, -5_000, 3, -2, 10, 10, -60_000]
    acks = []
    for off in offsets:
        msg, duplicate = await store.messages.append(
            order_id=oid,
            sender_id=cust,
            sender_role="customer",
            content="x",
            client_message_id=None,
            now=base + timedelta(milliseconds=off),
        )
        assert not duplicate
        acks.append(msg)
    stored = await store.messages.after(oid, 0, limit=100)
    assert [m.seq for m in stored] == list(range(1, len(offsets) + 1))
    times = [m.created_at for m in stored]
    assert times == sorted(times), [rfc3339_ms(t) for t in times]
    # the clock read once the seq is held (the server's, to the millisecond)
    assert all(t.microsecond % 1000 == 0 for t in times)
    assert times[0] >= base - timedelta(seconds=5)
    # the ack carries exactly what is stored
    assert [rfc3339_ms(m.created_at) for m in acks] == [rfc3339_ms(t) for t in times]


async def test_concurrent_senders_timestamps_follow_seq(services: Services) -> None:
    store = services.store
    await store.migrate()
    oid, cust, vend = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    await store.rooms.apply_event(
        OrderEvent("accepted", oid, customer_id=cust, vendor_id=vend), utcnow_ms()
    )

    async def sender(who: uuid.UUID, role: str) -> None:
        for _ in range(10):
            await store.messages.append(
                order_id=oid,
                sender_id=who,
                sender_role=role,
                content="x",
                client_message_id=None,
                now=utcnow_ms(),
            )

    await asyncio.gather(*(sender(*p) for p in [(cust, "customer"), (vend, "vendor")] * 4))
    stored = await store.messages.after(oid, 0, limit=100)
    assert [m.seq for m in stored] == list(range(1, 81))
    times = [m.created_at for m in stored]
    assert times == sorted(times)
