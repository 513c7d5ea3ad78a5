"""How the bench opens and times its connections with picows, against a small picows
server that accepts, refuses, answers wrongly or never answers (no orderchat server)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from urllib.parse import parse_qs, urlsplit

import orjson
import pytest
from picows import (
    WSFrame,
    WSListener,
    WSMsgType,
    WSTransport,
    WSUpgradeRequest,
    WSUpgradeResponse,
    WSUpgradeResponseWithListener,
    ws_create_server,
)

from orderchat.bench.rooms import Room, Target, close_connections, new_rooms, open_connections
from tests.conftest import TEST_SECRET


class Greeter(WSListener):
    def __init__(self, first: bytes | None) -> None:
        super().__init__()
        self.first = first

    def on_ws_connected(self, transport: WSTransport) -> None:
        if self.first is not None:
            transport.send(WSMsgType.TEXT, self.first)

    def on_ws_frame(self, transport: WSTransport, frame: WSFrame) -> None:
        if frame.msg_type == WSMsgType.CLOSE:  # as a server does: answer, then hang up
            transport.send_close(frame.get_close_code())
            transport.disconnect()


@pytest.fixture
async def rooms() -> AsyncIterator[tuple[Target, list[Room], list[WSUpgradeRequest]]]:
    seen: list[WSUpgradeRequest] = []
    behaviour: dict[str, str] = {}

    def factory(request: WSUpgradeRequest) -> WSListener | WSUpgradeResponseWithListener:
        seen.append(request)
        order = parse_qs(urlsplit(request.path.decode()).query)["orderId"][0]
        kind = behaviour[order]
        if kind == "refuse":
            response = WSUpgradeResponse.create_error_response(401, b"no")
            return WSUpgradeResponseWithListener(response, None)
        connected = {"event": "connected", "data": {"lastSeq": 7}}
        first = {
            "accept": orjson.dumps(connected),
            "wrong": orjson.dumps({"event": "error", "data": {"code": "FORBIDDEN"}}),
            "silent": None,
        }[kind]
        return Greeter(first)

    server = await ws_create_server(factory, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    target = Target(f"http://127.0.0.1:{port}", TEST_SECRET)
    made = new_rooms(target, range(4))
    for room, kind in zip(made, ("accept", "refuse", "wrong", "silent"), strict=True):
        behaviour[room.order_id] = kind
    try:
        yield target, made, seen
    finally:
        server.close()
        await server.wait_closed()


async def test_handshakes_are_timed_to_the_connected_frame_and_failures_counted_by_type(
    rooms: tuple[Target, list[Room], list[WSUpgradeRequest]], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("orderchat.bench.rooms.OPEN_TIMEOUT_SECONDS", 0.5)
    target, made, seen = rooms
    conns = [room.conns[0] for room in made]
    failures: dict[str, int] = {}
    progress = [0, 0]
    due, handshake_ms = await open_connections(target, conns, 100.0, failures, progress, 1)
    try:
        assert failures == {"WSInvalidStatusError": 1, "no connected frame": 1, "TimeoutError": 1}
        assert len(due) == len(handshake_ms) == 1 and progress == [0, 1]
        assert 0 < handshake_ms[0] < 500
        opened = made[0].conns[0]
        assert opened.ws is not None and opened.tracker.start == 7
        assert [conn.ws for conn in conns[1:]] == [None, None, None]
        # the token travels in the Authorization header; no compression is offered
        for request, room in zip(seen, made, strict=True):
            assert request.headers["Authorization"] == "Bearer " + room.tokens[0]
            assert "Sec-WebSocket-Extensions" not in request.headers
    finally:
        await close_connections(conns)
    assert not made[0].conns[0].lost  # closed by the bench
