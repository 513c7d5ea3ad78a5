"""Two hubs (two "instances") over one store, linked by an in-memory fan-out the test can
make lossy: remote delivery, own echoes ignored, holes filled from the store, resync on
reconnect, room changes and revocations across instances, subscriptions only while used."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from typing import Any

import orjson
import pytest
from fastapi import FastAPI

from orderchat.domain.messages import utcnow_ms
from orderchat.domain.rooms import RoomChanges
from orderchat.identity import Principal
from orderchat.realtime import relay as relay_module
from orderchat.realtime.fanout import Handler
from orderchat.realtime.hub import Hub
from orderchat.realtime.local import Connection
from orderchat.services import Services


class MemoryBus:
    def __init__(self) -> None:
        self.subs: dict[str, list[tuple[MemoryFanout, Handler]]] = {}
        self.dropping = False


class MemoryFanout:
    on_reconnect: Callable[[], None] | None = None

    def __init__(self, bus: MemoryBus) -> None:
        self.bus = bus

    @property
    def healthy(self) -> bool:
        return not self.bus.dropping

    async def start(self) -> None: ...

    async def close(self) -> None: ...

    async def subscribe(self, room: str, handler: Handler) -> None:
        self.bus.subs.setdefault(room, []).append((self, handler))

    async def unsubscribe(self, room: str) -> None:
        self.bus.subs[room] = [(f, h) for f, h in self.bus.subs.get(room, []) if f is not self]

    def publish(self, room: str, payload: bytes) -> None:
        if self.bus.dropping:
            return
        for _fanout, handler in self.bus.subs.get(room, []):  # echoes included, like Redis
            asyncio.get_running_loop().call_soon(handler, payload)


class Client:
    def __init__(self) -> None:
        self.frames: list[dict[str, Any]] = []
        self.closed: int | None = None
        self.changed = asyncio.Event()

    def send_text(self, text: str) -> None:
        self.frames.append(orjson.loads(text))
        self.changed.set()

    def send_close(self, code: int, _reason: str) -> None:
        self.closed = code
        self.changed.set()

    def closing(self) -> None:
        pass

    def events(self, *names: str) -> list[dict[str, Any]]:
        return [f for f in self.frames if f["event"] in names]

    def seqs(self) -> list[int]:
        return [f["data"]["seq"] for f in self.events("newMessage", "messageAck")]

    async def until(self, check: Callable[[], bool]) -> None:
        async with asyncio.timeout(10):
            while not check():
                self.changed.clear()
                await self.changed.wait()


async def setup(services: Services) -> tuple[Hub, Hub, MemoryBus, uuid.UUID, str, str]:
    # the `app` fixture migrated the store and closes it at the end
    bus = MemoryBus()
    hubs = [Hub(services.store, services.metrics, services.settings, MemoryFanout(bus))]
    hubs.append(Hub(services.store, services.metrics, services.settings, MemoryFanout(bus)))
    for hub in hubs:
        await hub.start()
    oid, cust, vend = uuid.uuid4(), str(uuid.uuid4()), str(uuid.uuid4())
    await services.events.handle(
        "order.accepted",
        {"orderId": str(oid), "customerId": cust, "vendorId": vend},
        source="test",
    )
    return hubs[0], hubs[1], bus, oid, cust, vend


async def join(hub: Hub, oid: uuid.UUID, user: str, role: str) -> tuple[Connection, Client]:
    client = Client()
    principal = Principal(user_id=user, role=role, expires_at=4e9)  # type: ignore[arg-type]
    assert hub.limits.reserve(oid, user)
    conn = hub.register(oid, principal, client)
    view = await hub.attach(conn)
    assert view is not None
    hub.stream(conn, view, None)
    await client.until(lambda: bool(client.events("connected")))
    return conn, client


async def test_remote_delivery_holes_and_resync(
    app: FastAPI, services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(relay_module, "TAIL_DELAY_SECONDS", 3600)  # only resync may fill seq 4
    a, b, bus, oid, cust, vend = await setup(services)
    a1, ca1 = await join(a, oid, cust, "customer")
    a2, ca2 = await join(a, oid, vend, "vendor")
    b1, cb1 = await join(b, oid, vend, "vendor")

    await a.send(a1, "one", None)
    await cb1.until(lambda: cb1.seqs() == [1])
    # typing from A reaches A's other connection once (A ignores its own echo) and B once
    a.broadcast(a1, "typing", {"userId": cust})
    await cb1.until(lambda: len(cb1.events("typing")) == 1)
    await ca2.until(lambda: len(ca2.events("typing")) == 1)
    await asyncio.sleep(0.05)  # give a wrongly echoed frame the chance to arrive
    assert len(ca2.events("typing")) == 1 and ca1.events("typing") == []

    bus.dropping = True  # seq 2 never reaches B through the fan-out
    await a.send(a1, "two", None)
    bus.dropping = False
    await a.send(a1, "three", None)  # B sees 3, finds the hole, reads 2 from the store
    await cb1.until(lambda: cb1.seqs() == [1, 2, 3])
    assert [f["data"]["content"] for f in cb1.events("newMessage")] == ["one", "two", "three"]

    bus.dropping = True  # seq 4 is lost and nothing follows it...
    await b.send(b1, "four", "cm-4")
    bus.dropping = False
    await cb1.until(lambda: cb1.seqs() == [1, 2, 3, 4])
    await asyncio.sleep(0.05)
    assert ca1.seqs() == [1, 2, 3]
    assert a.fanout.on_reconnect is not None
    a.fanout.on_reconnect()  # ...until the fan-out reports it reconnected
    await ca1.until(lambda: ca1.seqs() == [1, 2, 3, 4])
    await ca2.until(lambda: ca2.seqs() == [1, 2, 3, 4])
    assert [f["event"] for f in ca1.events("newMessage", "messageAck")] == [
        "messageAck",
        "messageAck",
        "messageAck",
        "newMessage",
    ]

    # a duplicate send from B: acked (duplicate) to the sender only, nothing new anywhere
    await b.send(b1, "four again", "cm-4")
    await cb1.until(lambda: len(cb1.events("messageAck")) == 2)
    assert cb1.events("messageAck")[-1]["data"]["duplicate"] is True
    await a.send(a2, "five", None)
    await ca1.until(lambda: ca1.seqs()[-1] == 5)
    assert ca1.seqs() == [1, 2, 3, 4, 5]

    for conn, hub in ((a1, a), (a2, a), (b1, b)):
        await hub.unregister(conn)
        conn.outbox.lost()
    assert bus.subs[str(oid)] == []  # no instance listens to a room it has no connection to


async def test_room_changes_cross_instances(app: FastAPI, services: Services) -> None:
    a, b, _bus, oid, cust, _vend = await setup(services)
    rider = str(uuid.uuid4())
    await services.events.handle(
        "order.rider_assigned", {"orderId": str(oid), "riderId": rider}, source="test"
    )
    _c, cust_b = await join(b, oid, cust, "customer")
    _r, rider_b = await join(b, oid, rider, "rider")
    left = RoomChanges(joined=[], left=[(uuid.UUID(rider), "rider")], closed=None)
    await a.room_changed(oid, left, None)  # applied on A, which holds no connection
    await rider_b.until(lambda: rider_b.closed is not None)
    assert rider_b.closed == 4403
    await cust_b.until(lambda: bool(cust_b.events("participantLeft")))
    assert cust_b.events("participantLeft")[0]["data"] == {"userId": rider, "role": "rider"}
    closed = RoomChanges(joined=[], left=[], closed="delivered")
    await a.room_changed(oid, closed, utcnow_ms())
    await cust_b.until(lambda: bool(cust_b.events("roomClosed")))
    data = cust_b.events("roomClosed")[0]["data"]
    assert data["orderId"] == str(oid) and data["reason"] == "delivered"
    assert data["closedAt"].endswith("Z")


async def test_lost_last_message_is_recovered_by_the_tail_announcement(
    app: FastAPI, services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(relay_module, "TAIL_DELAY_SECONDS", 0.05)
    a, b, bus, oid, cust, vend = await setup(services)
    a1, _ca1 = await join(a, oid, cust, "customer")
    _b1, cb1 = await join(b, oid, vend, "vendor")
    bus.dropping = True  # the message's own payload is lost, and nothing follows it
    await a.send(a1, "last words", None)
    bus.dropping = False
    await cb1.until(lambda: cb1.seqs() == [1])  # the tail announcement revealed it
    assert cb1.events("newMessage")[0]["data"]["content"] == "last words"
