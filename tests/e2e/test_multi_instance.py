"""Two `orderchat serve` instances sharing PostgreSQL and a Redis of the test's own.

SPEC 5.4, 9 and 10: clients on either instance are in one room; room events posted to
one instance reach connections on both; order holds under concurrent senders on both;
Redis stopped or hung mid-conversation loses nothing (gap fill once it is back); an
instance killed mid-conversation loses nothing for clients that resume on the other.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from redis.asyncio import Redis
from websockets.asyncio.client import ClientConnection
from websockets.exceptions import ConnectionClosed

from tests.e2e.conftest import ServerProc, StartServer
from tests.e2e.ws_support import (
    close_code,
    connected,
    get_json,
    open_room,
    post_event,
    recv,
    recv_event,
    send,
    tok,
    ws_connect,
)
from tests.redis_server import RedisServer, running_redis

# Several instances share PostgreSQL; SQLite serves one instance only (SPEC 10), so these
# tests run on PostgreSQL alone (the parametrization overrides the two-backend fixture).
pytestmark = [pytest.mark.e2e, pytest.mark.parametrize("backend", ["postgresql"])]

WAIT = 20.0  # a ceiling against hangs, never a speed claim
MESSAGE_EVENTS = ("newMessage", "messageAck")


@dataclass
class Cluster:
    redis: RedisServer
    a: ServerProc
    b: ServerProc


@pytest.fixture
def cluster(backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Cluster]:
    start: StartServer = request.getfixturevalue("start_server")
    with running_redis(tmp_path / "redis") as redis:
        # A high rate limit: these tests are about the fan-out, not about abuse control.
        opts = {"redis_url": redis.url, "rate_per_second": "1000", "rate_burst": "1000"}
        a, b = start(**opts), start(**opts)
        try:
            yield Cluster(redis, a, b)
        finally:
            for server in (a, b):
                server.stop()


async def message(ws: ClientConnection) -> dict[str, Any]:
    """The next frame that carries a message (newMessage or messageAck), with its event."""
    while True:
        frame = await recv(ws, WAIT)
        assert frame["event"] != "error", frame
        if frame["event"] in MESSAGE_EVENTS:
            return frame


async def seqs_until(ws: ClientConnection, last: int) -> list[int]:
    """Every message seq this connection receives, until it has seen ``last``."""
    seen: list[int] = []
    while not seen or seen[-1] < last:
        seen.append((await message(ws))["data"]["seq"])
    return seen


async def nothing_more(ws: ClientConnection) -> None:
    """No message frame (duplicate, stray) is queued before the answer to a ping."""
    await send(ws, "ping")
    while (frame := await recv(ws, WAIT))["event"] != "pong":
        assert frame["event"] not in (*MESSAGE_EVENTS, "error"), frame


async def say(ws: ClientConnection, text: str) -> dict[str, Any]:
    """Send and wait for the ack; what the server stored."""
    await send(ws, "sendMessage", {"message": text, "clientMessageId": text})
    frame = await message(ws)
    assert frame["event"] == "messageAck", frame
    assert frame["data"]["content"] == text
    data: dict[str, Any] = frame["data"]
    return data


async def wait_http(server: ServerProc, path: str, check: Any) -> httpx.Response:
    deadline = time.monotonic() + WAIT
    async with httpx.AsyncClient(base_url=server.url, timeout=5.0) as http:
        while True:
            response = await http.get(path)
            if check(response):
                return response
            assert time.monotonic() < deadline, f"{path}: {response.status_code} {response.text}"
            await asyncio.sleep(0.1)


def backplane_up(value: float) -> Any:
    line = f"orderchat_backplane_up {value}"
    return lambda r: line in r.text.splitlines()


async def test_clients_on_both_instances_exchange_messages(cluster: Cluster) -> None:
    room = await open_room(cluster.a)
    oid = room.order_id
    async with (
        ws_connect(cluster.a, oid, room.customer_token()) as cust_a,
        ws_connect(cluster.b, oid, room.vendor_token()) as vend_b,
        ws_connect(cluster.b, oid, room.customer_token()) as cust_b,
    ):
        for ws in (cust_a, vend_b, cust_b):
            assert (await connected(ws))["lastSeq"] == 0
        sent = await say(cust_a, "hello from A")
        expected = {k: v for k, v in sent.items() if k != "duplicate"}
        for ws in (vend_b, cust_b):
            assert await message(ws) == {"event": "newMessage", "data": expected}

        reply = await say(vend_b, "hello from B")
        assert reply["seq"] == 2 and reply["senderRole"] == "vendor"
        for ws in (cust_a, cust_b):
            frame = await message(ws)
            assert frame["event"] == "newMessage" and frame["data"]["seq"] == 2
            assert frame["data"]["content"] == "hello from B"

        # typing (ephemeral) crosses instances too
        await send(cust_b, "typing")
        assert (await recv_event(cust_a, "typing", WAIT)) == {"userId": room.customer}
        for ws in (cust_a, vend_b, cust_b):
            await nothing_more(ws)
        # Plain SUBSCRIBE, one channel per room, one subscriber per instance holding it.
        assert await subscribers(cluster, oid) == 2
        async with redis_of(cluster) as r:
            assert await r.pubsub_numpat() == 0

    # An instance without connections to a room stops listening to it.
    await until_subscribers(cluster, oid, 0)


def redis_of(cluster: Cluster) -> Redis:
    return Redis.from_url(cluster.redis.url)


async def subscribers(cluster: Cluster, order_id: str) -> int:
    async with redis_of(cluster) as r:
        [(_, count)] = await r.pubsub_numsub(f"orderchat:room:{order_id}")
        return int(count)


async def until_subscribers(cluster: Cluster, order_id: str, want: int) -> None:
    deadline = time.monotonic() + WAIT
    while (have := await subscribers(cluster, order_id)) != want:
        assert time.monotonic() < deadline, f"{have} subscribers, expected {want}"
        await asyncio.sleep(0.05)


async def test_an_instance_subscribes_to_a_room_only_while_it_has_connections(
    cluster: Cluster,
) -> None:
    room = await open_room(cluster.a)
    oid = room.order_id
    assert await subscribers(cluster, oid) == 0
    async with ws_connect(cluster.a, oid, room.customer_token()) as cust_a:
        await connected(cust_a)
        await until_subscribers(cluster, oid, 1)
        async with ws_connect(cluster.b, oid, room.vendor_token()) as vend_b:
            await connected(vend_b)
            await until_subscribers(cluster, oid, 2)
        await until_subscribers(cluster, oid, 1)  # B left the room; A still holds it
        await say(cust_a, "still here")
    await until_subscribers(cluster, oid, 0)


async def test_room_events_posted_to_one_instance_reach_both(cluster: Cluster) -> None:
    room = await open_room(cluster.a)
    oid = room.order_id
    rider = str(uuid.uuid4())
    rider_token = tok("rider", rider)
    async with (
        ws_connect(cluster.a, oid, room.customer_token()) as cust_a,
        ws_connect(cluster.b, oid, room.vendor_token()) as vend_b,
    ):
        await connected(cust_a)
        await connected(vend_b)
        await post_event(cluster.a, "order.rider_assigned", orderId=oid, riderId=rider)
        joined = {"userId": rider, "role": "rider"}
        for ws in (cust_a, vend_b):
            assert await recv_event(ws, "participantJoined", WAIT) == joined

        async with (
            ws_connect(cluster.a, oid, rider_token) as rider_a,
            ws_connect(cluster.b, oid, rider_token) as rider_b,
        ):
            await connected(rider_a)
            await connected(rider_b)
            await post_event(cluster.b, "order.rider_unassigned", orderId=oid, riderId=rider)
            assert await close_code(rider_a, WAIT) == 4403
            assert await close_code(rider_b, WAIT) == 4403
            for ws in (cust_a, vend_b):
                assert await recv_event(ws, "participantLeft", WAIT) == joined

        await post_event(
            cluster.a, "order.delivered", orderId=oid, deliveredAt="2026-11-24T06:00:00Z"
        )
        for ws in (cust_a, vend_b):
            closed = await recv_event(ws, "roomClosed", WAIT)
            assert closed["orderId"] == oid and closed["reason"] == "delivered"
        await send(vend_b, "sendMessage", {"message": "too late"})
        assert (await recv_event(vend_b, "error", WAIT))["code"] == "ROOM_READ_ONLY"


async def test_concurrent_senders_on_both_instances_strict_order(cluster: Cluster) -> None:
    room = await open_room(cluster.a)
    oid = room.order_id
    per_sender = 40
    async with (
        ws_connect(cluster.a, oid, room.customer_token()) as cust_a,
        ws_connect(cluster.a, oid, room.vendor_token()) as vend_a,
        ws_connect(cluster.b, oid, room.customer_token()) as cust_b,
        ws_connect(cluster.b, oid, room.vendor_token()) as vend_b,
        ws_connect(cluster.a, oid, room.vendor_token()) as watch_a,
        ws_connect(cluster.b, oid, room.customer_token()) as watch_b,
    ):
        senders = [cust_a, vend_a, cust_b, vend_b]
        everyone = [*senders, watch_a, watch_b]
        for ws in everyone:
            await connected(ws)
        total = per_sender * len(senders)

        async def blast(n: int, ws: ClientConnection) -> None:
            for i in range(per_sender):
                await send(
                    ws, "sendMessage", {"message": f"s{n}-{i}", "clientMessageId": f"{n}-{i}"}
                )

        readers = [asyncio.create_task(seqs_until(ws, total)) for ws in everyone]
        await asyncio.gather(*(blast(n, ws) for n, ws in enumerate(senders)))
        seen = await asyncio.wait_for(asyncio.gather(*readers), WAIT * 2)
        for got in seen:  # strictly increasing, no gap, no duplicate, on every connection
            assert got == list(range(1, total + 1))
        for ws in everyone:
            await nothing_more(ws)

    history = await get_json(cluster.b, f"/v1/rooms/{oid}", room.vendor_token())
    assert history["lastSeq"] == total


async def _outage_loses_nothing(cluster: Cluster, *, hang: bool) -> None:
    room = await open_room(cluster.a)
    oid = room.order_id
    async with (
        ws_connect(cluster.a, oid, room.customer_token()) as cust_a,
        ws_connect(cluster.b, oid, room.vendor_token()) as vend_b,
    ):
        await connected(cust_a)
        await connected(vend_b)
        await say(cust_a, "before")
        assert (await message(vend_b))["data"]["seq"] == 1

        await asyncio.to_thread(cluster.redis.pause if hang else cluster.redis.stop)
        try:
            # Sends are stored and acked while the backplane is gone.
            acked = [(await say(cust_a, f"during-{i}"))["seq"] for i in range(5)]
            assert acked == [2, 3, 4, 5, 6]
            for server in (cluster.a, cluster.b):
                down = await wait_http(server, "/readyz", lambda r: r.status_code == 503)
                assert "redis" in down.json()["failed"]
                await wait_http(server, "/metrics", backplane_up(0.0))
        finally:
            await asyncio.to_thread(cluster.redis.resume if hang else cluster.redis.start)

        # Once the fan-out is back, the peer on B receives every missed message, in order.
        frames = [await message(vend_b) for _ in range(5)]
        assert [f["data"]["seq"] for f in frames] == [2, 3, 4, 5, 6]
        assert [f["data"]["content"] for f in frames] == [f"during-{i}" for i in range(5)]
        assert all(f["event"] == "newMessage" for f in frames)

        for server in (cluster.a, cluster.b):
            await wait_http(server, "/readyz", lambda r: r.status_code == 200)
            await wait_http(server, "/metrics", backplane_up(1.0))
        # and the live path works both ways again
        assert (await say(vend_b, "after"))["seq"] == 7
        assert (await message(cust_a))["data"]["seq"] == 7
        await nothing_more(cust_a)
        await nothing_more(vend_b)


async def test_redis_stopped_mid_conversation_loses_nothing(cluster: Cluster) -> None:
    await _outage_loses_nothing(cluster, hang=False)


async def test_redis_hung_mid_conversation_loses_nothing(cluster: Cluster) -> None:
    await _outage_loses_nothing(cluster, hang=True)


async def test_killed_instance_clients_resume_on_the_other(cluster: Cluster) -> None:
    room = await open_room(cluster.a)
    oid = room.order_id
    async with ws_connect(cluster.b, oid, room.vendor_token()) as vend_b:
        await connected(vend_b)
        async with ws_connect(cluster.a, oid, room.customer_token()) as cust_a:
            await connected(cust_a)
            for i in range(3):
                await say(cust_a, f"c{i}")
            assert [(await message(vend_b))["data"]["seq"] for _ in range(3)] == [1, 2, 3]
            await say(vend_b, "v0")
            last_seen = (await message(cust_a))["data"]["seq"]
            assert last_seen == 4

            cluster.a.kill()  # SIGKILL mid-conversation
            with pytest.raises(ConnectionClosed):
                while True:
                    await asyncio.wait_for(cust_a.recv(), WAIT)

        # Meanwhile the conversation goes on through B.
        assert [(await say(vend_b, f"v{i}"))["seq"] for i in range(1, 4)] == [5, 6, 7]

        async with ws_connect(cluster.b, oid, room.customer_token(), last_seq=last_seen) as cust:
            hello = await connected(cust)
            assert hello["lastSeq"] in (last_seen, 7)
            resumed = [await message(cust) for _ in range(3)]
            assert [f["data"]["seq"] for f in resumed] == [5, 6, 7]
            assert [f["data"]["content"] for f in resumed] == ["v1", "v2", "v3"]
            assert (await say(vend_b, "live"))["seq"] == 8
            assert (await message(cust))["data"]["seq"] == 8
            assert (await say(cust, "back"))["seq"] == 9
            assert (await message(vend_b))["data"]["seq"] == 9
            await nothing_more(cust)

    ready = await wait_http(cluster.b, "/readyz", lambda r: r.status_code == 200)
    assert ready.json()["checks"]["redis"] == "ok"
