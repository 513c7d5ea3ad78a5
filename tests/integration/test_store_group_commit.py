"""Group commit (store/group.py, store/append.py) on both databases: sends waiting at the
same moment are stored in one commit, and each still gets its own answer."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import pytest

from orderchat.domain.events import OrderEvent
from orderchat.domain.messages import Message, utcnow_ms
from orderchat.errors import NotFoundError, RoomReadOnlyError, UnavailableError
from orderchat.store import Store
from orderchat.store.group import GroupWriter, Outcome
from tests.integration.test_store_messages import contents, new_rider, open_room, send
from tests.tcp_proxy import TcpProxy


async def test_one_batch_answers_each_send_its_own_way(store: Store) -> None:
    a, cust_a = await open_room(store)
    b, cust_b = await open_room(store)
    closed, cust_c = await open_room(store)
    first, _ = await send(store, a, cust_a, "stored before", "cm-old")
    await store.rooms.apply_event(OrderEvent("delivered", closed), utcnow_ms())
    batches = store.messages.writer.batches
    results = await asyncio.gather(
        send(store, a, cust_a, "a1", "cm-a1"),
        send(store, b, cust_b, "b1"),
        send(store, a, cust_a, "stored before", "cm-old"),  # a retry: its duplicate
        send(store, closed, cust_c, "too late"),  # read-only
        send(store, uuid.uuid4(), cust_a, "nowhere"),  # no such room
        send(store, b, cust_b, "b2", "cm-b2"),
        send(store, a, cust_a, "a2"),
        return_exceptions=True,
    )
    assert store.messages.writer.batches == batches + 1  # all in one commit
    a1, b1, retry, too_late, nowhere, b2, a2 = results
    assert isinstance(too_late, RoomReadOnlyError)
    assert isinstance(nowhere, NotFoundError)
    assert retry == (first, True)
    stored = [a1, b1, b2, a2]
    assert all(isinstance(r, tuple) and r[1] is False for r in stored)
    msgs = [r[0] for r in stored if isinstance(r, tuple) and isinstance(r[0], Message)]
    assert [(m.order_id, m.seq) for m in msgs] == [(a, 2), (b, 1), (b, 2), (a, 3)]
    # a higher seq of a room never carries an earlier timestamp
    assert msgs[0].created_at <= msgs[3].created_at and msgs[1].created_at <= msgs[2].created_at
    assert await contents(store, a) == [(1, "stored before"), (2, "a1"), (3, "a2")]
    assert await contents(store, b) == [(1, "b1"), (2, "b2")]
    assert await contents(store, closed) == []
    view = await store.rooms.get(a)
    assert view is not None and view.last_seq == 3  # the retry spent no seq


async def test_the_same_client_message_id_twice_in_one_moment_is_stored_once(
    store: Store,
) -> None:
    oid, cust = await open_room(store)
    results = await asyncio.gather(*(send(store, oid, cust, "once", "cm-1") for _ in range(5)))
    assert [dup for _, dup in results].count(False) == 1
    assert {m.seq for m, _ in results} == {1}
    assert await contents(store, oid) == [(1, "once")]


async def test_sends_to_many_rooms_while_a_commit_is_in_flight_share_the_next(
    store: Store,
) -> None:
    rooms = [await open_room(store) for _ in range(20)]
    batches = store.messages.writer.batches
    sends = [send(store, oid, cust, f"m{i}") for i in range(3) for oid, cust in rooms]
    results = await asyncio.gather(*sends)
    assert store.messages.writer.batches - batches < len(sends)
    for oid, _ in rooms:
        assert await contents(store, oid) == [(1, "m0"), (2, "m1"), (3, "m2")]
    assert all(not dup for _, dup in results)


@pytest.fixture
async def proxied_pg(postgres_db: str) -> AsyncIterator[tuple[Store, TcpProxy]]:
    host_port = postgres_db.split("@", 1)[1].split("/", 1)[0]
    host, port = host_port.split(":")
    proxy = TcpProxy(host, int(port))
    await proxy.start()
    s = Store.from_url(postgres_db.replace(host_port, f"127.0.0.1:{proxy.port}"))
    try:
        yield s, proxy
    finally:
        await s.close()
        await proxy.close()


async def test_a_batch_whose_commit_fails_acks_none_of_its_sends(
    proxied_pg: tuple[Store, TcpProxy],
) -> None:
    store, proxy = proxied_pg
    rooms = [await open_room(store) for _ in range(3)]
    await proxy.close()  # PostgreSQL is unreachable
    results = await asyncio.gather(
        *(send(store, oid, cust, "lost", f"cm-{i}") for i, (oid, cust) in enumerate(rooms)),
        return_exceptions=True,
    )
    assert all(isinstance(r, UnavailableError) for r in results), results
    await proxy.start()
    for oid, _ in rooms:  # nothing was stored: the retries are first sends
        assert await contents_retrying(store, oid) == []
    for i, (oid, cust) in enumerate(rooms):
        msg, dup = await send(store, oid, cust, "lost", f"cm-{i}")
        assert not dup and msg.seq == 1


async def contents_retrying(store: Store, oid: uuid.UUID) -> list[tuple[int, str]]:
    """The room's messages once the store answers again (a pooled connection cut with the
    proxy fails once, as UNAVAILABLE, before it is replaced)."""
    for _ in range(20):
        try:
            return await contents(store, oid)
        except UnavailableError:
            continue
    return await contents(store, oid)


class SlowFlush:
    """The store's own flush, held for ``delay`` and counting the batches in flight."""

    def __init__(self, store: Store, delay: float) -> None:
        self.flush = store.messages._appender.flush
        self.delay = delay
        self.inflight = 0
        self.most = 0
        self.batches: list[list[Message]] = []

    async def __call__(self, msgs: list[Message]) -> list[Outcome]:
        self.inflight += 1
        self.most = max(self.most, self.inflight)
        self.batches.append(msgs)
        try:
            await asyncio.sleep(self.delay)
            return await self.flush(msgs)
        finally:
            self.inflight -= 1


def two_in_flight(store: Store, delay: float = 0.05) -> SlowFlush:
    slow = SlowFlush(store, delay)
    store.messages.writer = GroupWriter(slow, max_inflight=2)
    return slow


async def test_a_client_message_id_in_flight_is_kept_out_of_the_second_batch(
    store: Store,
) -> None:
    slow = two_in_flight(store)
    oid, cust = await open_room(store)
    other, cust2 = await open_room(store)
    first = asyncio.ensure_future(send(store, oid, cust, "once", "cm-1"))
    await asyncio.sleep(0.01)  # the first batch is in flight
    retry = asyncio.ensure_future(send(store, oid, cust, "once", "cm-1"))
    meanwhile = asyncio.ensure_future(send(store, other, cust2, "meanwhile", "cm-1"))
    await asyncio.sleep(0.01)
    assert slow.inflight == 2  # the second batch went without waiting for the first ...
    assert [m.content for m in slow.batches[1]] == ["meanwhile"]  # ... and without cm-1
    (msg, dup), (again, dup_again), (other_msg, other_dup) = await asyncio.gather(
        first, retry, meanwhile
    )
    assert (dup, dup_again, other_dup) == (False, True, False)
    assert again == msg and other_msg.seq == 1
    assert await contents(store, oid) == [(1, "once")]
    assert len(slow.batches) == 3  # the retry went in a third batch, once cm-1 was stored


async def test_two_batches_in_flight_keep_each_rooms_seqs_and_times_in_order(
    store: Store,
) -> None:
    slow = two_in_flight(store, delay=0.002)
    rooms = [await open_room(store) for _ in range(3)]
    senders = [(oid, await new_rider(store, oid)) for oid, _ in rooms for _ in range(4)]

    async def sender_sends(oid: uuid.UUID, sender: uuid.UUID) -> list[Message]:
        # one send at a time per sender, like a connection's send lock; every third is
        # sent twice (a retry racing its first send)
        sent = []
        for i in range(15):
            cmid = f"{sender}-{i}"
            if i % 3 == 0:
                (m, _), (m2, _) = await asyncio.gather(
                    send(store, oid, sender, f"{sender} {i}", cmid, "rider"),
                    send(store, oid, sender, f"{sender} {i}", cmid, "rider"),
                )
                assert m == m2
            else:
                m, _ = await send(store, oid, sender, f"{sender} {i}", cmid, "rider")
            sent.append(m)
        return sent

    results = await asyncio.gather(*(sender_sends(oid, s) for oid, s in senders))
    assert slow.most == 2
    for sent in results:  # each sender's messages: in its send order
        assert [m.seq for m in sent] == sorted(m.seq for m in sent)
    for oid, _ in rooms:
        msgs, _ = await store.messages.page(oid, after_seq=0, limit=200)
        assert [m.seq for m in msgs] == list(range(1, 4 * 15 + 1))  # no hole, none twice
        times = [m.created_at for m in msgs]
        assert times == sorted(times)
        view = await store.rooms.get(oid)
        assert view is not None and view.last_seq == 4 * 15
