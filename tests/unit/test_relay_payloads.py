"""realtime/relay.py: the payload format between instances, and own echoes dropped
before they are parsed."""

from __future__ import annotations

import logging
import uuid
from typing import Any, cast

import orjson
import pytest

from orderchat.realtime.fanout import Handler, LocalFanout
from orderchat.realtime.local import LocalRoom
from orderchat.realtime.relay import Relay


class Recording(LocalFanout):
    def __init__(self) -> None:
        self.sent: list[tuple[str, bytes]] = []

    def publish(self, room: str, payload: bytes) -> None:
        self.sent.append((room, payload))

    async def subscribe(self, room: str, handler: Handler) -> None:
        return None


class Outbox:
    def __init__(self) -> None:
        self.frames: list[tuple[int, str]] = []
        self.pushed: list[str] = []

    def offer(self, seq: int, frame: str) -> None:
        self.frames.append((seq, frame))

    def push(self, frame: str) -> None:
        self.pushed.append(frame)


class Conn:
    def __init__(self) -> None:
        self.outbox = Outbox()


def test_a_payload_is_json_tagged_with_instance_then_room() -> None:
    fanout = Recording()
    relay = Relay(fanout, {})
    oid = uuid.uuid4()
    relay.publish(oid, {"t": "f", "f": "frame", "i": "forged", "o": "elsewhere"})
    [(room, raw)] = fanout.sent
    assert room == str(oid)
    assert raw.startswith(b'{"i":"' + relay.instance_id.encode() + b'","o":"')
    assert orjson.loads(raw) == {"i": relay.instance_id, "o": str(oid), "t": "f", "f": "frame"}


def test_own_echoes_are_dropped_unparsed(caplog: pytest.LogCaptureFixture) -> None:
    fanout = Recording()
    oid = uuid.uuid4()
    conn = Conn()
    room = LocalRoom(oid)
    room.conns.add(cast(Any, conn))
    relay = Relay(fanout, {oid: room})
    relay.publish(oid, {"t": "f", "f": "frame"})
    with caplog.at_level(logging.WARNING, logger="orderchat.realtime"):
        relay.on_payload(fanout.sent[0][1])
        # recognised by its first bytes: not even parsed (this is not JSON)
        relay.on_payload(fanout.sent[0][1][:45] + b"\xff not json")
    assert conn.outbox.pushed == [] and caplog.records == []


def test_another_instances_payloads_are_delivered() -> None:
    oid = uuid.uuid4()
    conn = Conn()
    room = LocalRoom(oid)
    room.conns.add(cast(Any, conn))
    here = Relay(Recording(), {oid: room})
    there_fanout = Recording()
    there = Relay(there_fanout, {})
    there.publish(oid, {"t": "f", "f": "typing-frame"})
    there.publish(oid, {"t": "m", "m": {"seq": 7, "content": "hi"}})
    for _, raw in there_fanout.sent:
        here.on_payload(raw)
    assert conn.outbox.pushed == ["typing-frame"]
    assert [seq for seq, _ in conn.outbox.frames] == [7]
    # and the older key order (instance id last) is still understood
    here.on_payload(orjson.dumps({"t": "f", "f": "older", "i": there.instance_id, "o": str(oid)}))
    assert conn.outbox.pushed == ["typing-frame", "older"]
