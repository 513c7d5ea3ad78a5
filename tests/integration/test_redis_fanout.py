"""RedisFanout against a redis-server of the test's own: delivery, unsubscribe, outages.

No database here, so each test runs once.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import pytest
from redis.asyncio import Redis

from orderchat.metrics import Metrics
from orderchat.realtime.redis_fanout import RedisFanout
from tests.redis_server import RedisServer, running_redis
from tests.tcp_proxy import TcpProxy

WAIT = 15.0  # generous ceiling against hangs, never a speed claim


@pytest.fixture
def redis(tmp_path: Path) -> Iterator[RedisServer]:
    with running_redis(tmp_path / "redis") as server:
        yield server


class Node:
    """One RedisFanout with its own metrics, recording what it receives per room."""

    def __init__(self, url: str) -> None:
        self.metrics = Metrics()
        self.fanout = RedisFanout(
            url,
            self.metrics,
            health_interval=0.3,
            ping_timeout=0.7,
            io_timeout=0.5,
            backoff_base=0.05,
            backoff_cap=0.5,
        )
        self.inbox: dict[str, asyncio.Queue[bytes]] = {}
        self.reconnected = asyncio.Event()
        self.fanout.on_reconnect = self.reconnected.set

    def handler(self, room: str) -> Callable[[bytes], None]:
        queue = self.inbox.setdefault(room, asyncio.Queue())
        return queue.put_nowait

    async def subscribe(self, room: str) -> None:
        await self.fanout.subscribe(room, self.handler(room))

    async def receive(self, room: str) -> bytes:
        return await asyncio.wait_for(self.inbox[room].get(), WAIT)

    def metric(self, name: str) -> float:
        value = self.metrics.registry.get_sample_value(name)
        assert value is not None
        return value


@pytest.fixture
async def nodes(redis: RedisServer) -> AsyncIterator[tuple[Node, Node]]:
    a, b = Node(redis.url), Node(redis.url)
    await a.fanout.start()
    await b.fanout.start()
    assert a.fanout.healthy and b.fanout.healthy
    yield a, b
    await a.fanout.close()
    await b.fanout.close()


async def eventually(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + WAIT
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for: {what}"
        await asyncio.sleep(0.02)


async def test_two_instances_exchange_payloads_per_room_in_order(
    nodes: tuple[Node, Node],
) -> None:
    a, b = nodes
    await a.subscribe("r1")
    await b.subscribe("r1")
    await b.subscribe("r2")
    assert a.metric("orderchat_backplane_up") == 1.0

    for i in range(50):
        a.fanout.publish("r1", f"a{i}".encode())
    a.fanout.publish("r2", b"only-r2")
    b.fanout.publish("r1", b"from-b")

    # Each side hears the other and (Redis echoes to every subscriber, the hub drops its
    # own by instance id) itself; one publisher's payloads keep their order.
    for node in (a, b):
        heard = [await node.receive("r1") for _ in range(51)]
        assert b"from-b" in heard
        assert [p for p in heard if p != b"from-b"] == [f"a{i}".encode() for i in range(50)]
        assert node.inbox["r1"].empty()
    assert await b.receive("r2") == b"only-r2"
    assert "r2" not in a.inbox  # A never subscribed r2


async def numsub(redis: RedisServer, room: str) -> int:
    async with Redis.from_url(redis.url) as r:
        [(_, count)] = await r.pubsub_numsub(f"orderchat:room:{room}")
        return int(count)


async def test_unsubscribe_stops_delivery(redis: RedisServer, nodes: tuple[Node, Node]) -> None:
    a, b = nodes
    await b.subscribe("gone")
    await b.subscribe("marker")
    # subscribe returns once Redis confirmed it; plain channels, no pattern subscription
    assert await numsub(redis, "gone") == 1
    async with Redis.from_url(redis.url) as r:
        assert await r.pubsub_numpat() == 0
    a.fanout.publish("gone", b"before")
    assert await b.receive("gone") == b"before"

    await b.fanout.unsubscribe("gone")
    a.fanout.publish("gone", b"after")
    a.fanout.publish("marker", b"m")  # same sender, same connection: arrives after "after"
    assert await b.receive("marker") == b"m"
    assert b.inbox["gone"].empty()
    assert await numsub(redis, "gone") == 0


async def test_a_failing_handler_does_not_stop_the_listener(nodes: tuple[Node, Node]) -> None:
    a, b = nodes
    got: list[bytes] = []

    def fragile(payload: bytes) -> None:
        got.append(payload)
        if payload == b"boom":
            raise RuntimeError("handler bug")

    await b.fanout.subscribe("r", fragile)
    await b.subscribe("marker")
    a.fanout.publish("r", b"boom")
    a.fanout.publish("r", b"fine")
    a.fanout.publish("marker", b"m")
    assert await b.receive("marker") == b"m"
    assert got == [b"boom", b"fine"]
    assert b.fanout.healthy


async def test_redis_stopped_then_restarted(redis: RedisServer, nodes: tuple[Node, Node]) -> None:
    a, b = nodes
    await b.subscribe("r1")
    assert b.metric("orderchat_backplane_reconnects_total") == 0.0
    await b.fanout.ping()

    await asyncio.to_thread(redis.stop)
    for i in range(1000):  # never raises, never blocks: it only queues
        a.fanout.publish("r1", f"lost{i}".encode())
    await eventually(lambda: not a.fanout.healthy and not b.fanout.healthy, "both unhealthy")
    assert b.metric("orderchat_backplane_up") == 0.0
    with pytest.raises(ConnectionError):
        await b.fanout.ping()
    # A room subscribed during the outage is subscribed once Redis is back.
    await b.subscribe("r3")

    await asyncio.to_thread(redis.start)
    await asyncio.wait_for(a.reconnected.wait(), WAIT)
    await asyncio.wait_for(b.reconnected.wait(), WAIT)
    assert a.fanout.healthy and b.fanout.healthy
    assert b.metric("orderchat_backplane_reconnects_total") >= 1.0
    assert b.metric("orderchat_backplane_up") == 1.0
    await b.fanout.ping()

    # Whatever was lost during the outage (receivers fill holes from the store), new
    # payloads flow again, on the old room and on the one subscribed while down.
    a.fanout.publish("r1", b"back")
    a.fanout.publish("r3", b"new-room")
    while (payload := await b.receive("r1")) != b"back":
        assert payload.startswith(b"lost")
    assert await b.receive("r3") == b"new-room"


async def test_redis_hung_is_detected_and_recovers(
    redis: RedisServer, nodes: tuple[Node, Node]
) -> None:
    a, b = nodes
    await b.subscribe("r1")
    await asyncio.to_thread(redis.pause)  # SIGSTOP: sockets stay open, nothing answers
    try:
        for i in range(100):
            a.fanout.publish("r1", f"during{i}".encode())
        await eventually(lambda: not b.fanout.healthy, "hung Redis detected by B")
        await eventually(lambda: not a.fanout.healthy, "hung Redis detected by A")
        assert b.metric("orderchat_backplane_up") == 0.0
        with pytest.raises(ConnectionError):
            await b.fanout.ping()
    finally:
        redis.resume()

    await asyncio.wait_for(b.reconnected.wait(), WAIT)
    await asyncio.wait_for(a.reconnected.wait(), WAIT)
    assert b.metric("orderchat_backplane_reconnects_total") >= 1.0
    a.fanout.publish("r1", b"after")
    while (payload := await b.receive("r1")) != b"after":
        assert payload.startswith(b"during")


async def test_a_publish_that_failed_is_retried_when_the_link_returns(
    redis: RedisServer,
) -> None:
    """Only the publisher's link breaks: the peer's listener never notices (no resync on
    its side), so the publisher must deliver what it queued once its link is back."""
    proxy = TcpProxy("127.0.0.1", redis.port)
    await proxy.start()
    a = Node(f"redis://127.0.0.1:{proxy.port}/0")
    b = Node(redis.url)
    await a.fanout.start()
    await b.fanout.start()
    try:
        await b.subscribe("r")
        a.fanout.publish("r", b"p0")
        assert await b.receive("r") == b"p0"

        await proxy.close()
        await eventually(lambda: not a.fanout.healthy, "A's listener lost its link")
        a.fanout.publish("r", b"p1")
        a.fanout.publish("r", b"p2")
        await eventually(lambda: a.fanout.publish_failures >= 1, "A's publish failed")
        await proxy.start()

        assert [await b.receive("r"), await b.receive("r")] == [b"p1", b"p2"]
        assert a.fanout.dropped == 0
        assert b.fanout.healthy and not b.reconnected.is_set()
    finally:
        await a.fanout.close()
        await b.fanout.close()
        await proxy.close()


async def test_publish_queue_is_bounded_while_redis_is_down(redis: RedisServer) -> None:
    metrics = Metrics()
    fanout = RedisFanout(redis.url, metrics, queue_size=10, io_timeout=0.5, backoff_cap=0.5)
    await fanout.start()
    try:
        await asyncio.to_thread(redis.stop)
        for i in range(500):
            fanout.publish("r", str(i).encode())
        assert fanout.dropped >= 490  # the oldest went first; the queue kept at most 10
    finally:
        await fanout.close()
    fanout.publish("r", b"after-close")  # a no-op, never an error


async def test_start_with_redis_down_connects_when_it_appears(tmp_path: Path) -> None:
    server = RedisServer(tmp_path / "late")
    node = Node(server.url)
    await node.fanout.start(wait=0.5)
    try:
        assert not node.fanout.healthy
        assert node.metric("orderchat_backplane_up") == 0.0
        await node.subscribe("r")
        await asyncio.to_thread(server.start)
        await asyncio.wait_for(node.reconnected.wait(), WAIT)
        node.fanout.publish("r", b"hello")
        assert await node.receive("r") == b"hello"
    finally:
        await node.fanout.close()
        await asyncio.to_thread(server.stop)


async def test_a_quiet_link_is_pinged_and_stays_up(
    redis: RedisServer, nodes: tuple[Node, Node]
) -> None:
    # the listener reads without a timeout per read: its watchdog PINGs a quiet link
    # (every health interval, 0.3 s here) and must not take the pongs' wait for a hang
    a, b = nodes
    await b.subscribe("r1")
    client = Redis.from_url(redis.url)
    try:
        before = (await client.info("commandstats")).get("cmdstat_ping", {}).get("calls", 0)
        await asyncio.sleep(2.0)  # ~7 health intervals, nothing published
        after = (await client.info("commandstats"))["cmdstat_ping"]["calls"]
    finally:
        await client.aclose()
    assert after - before >= 4  # both listeners pinged, again and again
    assert a.fanout.healthy and b.fanout.healthy
    assert not a.reconnected.is_set() and not b.reconnected.is_set()
    a.fanout.publish("r1", b"still here")
    assert await b.receive("r1") == b"still here"
