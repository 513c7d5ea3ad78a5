"""SPEC 5.1: every outcome of the upgrade is a real HTTP status (never accept-then-close)."""

from __future__ import annotations

import uuid

import pytest

from tests.e2e.conftest import ServerProc, StartServer
from tests.e2e.ws_support import (
    chat_url,
    connected,
    get_json,
    get_text,
    handshake_status,
    open_room,
    tok,
    ws_connect,
)


async def test_handshake_statuses(server: ServerProc) -> None:
    room = await open_room(server)
    cust = room.customer_token()
    oid = room.order_id
    assert await handshake_status(server, oid, cust) == 101
    # 400: orderId missing or malformed, lastSeq malformed
    assert await handshake_status(server, oid, cust, url=f"{server.ws_url}/chat") == 400
    assert await handshake_status(server, oid, cust, url=chat_url(server, "nope")) == 400
    bad_seq = chat_url(server, oid) + "&lastSeq=-1"
    assert await handshake_status(server, oid, cust, url=bad_seq) == 400
    # 401: missing, invalid, expired token; a token in the query string is never read
    assert await handshake_status(server, oid, None) == 401
    assert await handshake_status(server, oid, cust + "x") == 401
    assert await handshake_status(server, oid, tok("customer", room.customer, ttl=-60)) == 401
    in_query = chat_url(server, oid) + f"&token={cust}&access_token={cust}"
    assert await handshake_status(server, oid, None, url=in_query) == 401
    # 403: not a participant, no such room, service token, wrong role for the user
    assert await handshake_status(server, oid, tok("customer")) == 403
    assert await handshake_status(server, str(uuid.uuid4()), cust) == 403
    assert await handshake_status(server, oid, tok("service")) == 403
    assert await handshake_status(server, oid, tok("vendor", room.customer)) == 403
    assert await handshake_status(server, str(uuid.uuid4()), tok("admin")) == 403
    # Origin: absent (native) is fine, same host is fine, another site is not
    assert await handshake_status(server, oid, cust, origin=server.url) == 101
    assert await handshake_status(server, oid, cust, origin="https://evil.example") == 403
    other_port = f"http://127.0.0.1:{server.port + 1}"
    assert await handshake_status(server, oid, cust, origin=other_port) == 403
    assert await handshake_status(server, oid, cust, origin="null") == 403
    assert cust not in server.logs()


async def test_subprotocol_token(server: ServerProc) -> None:
    room = await open_room(server)
    async with ws_connect(server, room.order_id, room.vendor_token(), subprotocol=True) as ws:
        assert ws.subprotocol == "orderchat.v1"
        data = await connected(ws)
        assert data["you"] == {"userId": room.vendor, "role": "vendor"}
    bad = tok("vendor", room.vendor) + "x"
    assert await handshake_status(server, room.order_id, bad, subprotocol=True) == 401


async def test_eleventh_connection_gets_429(server: ServerProc) -> None:
    room = await open_room(server)
    cust = room.customer_token()
    clients = [ws_connect(server, room.order_id, cust) for _ in range(10)]
    conns = [await c.__aenter__() for c in clients]
    try:
        for ws in conns:
            await connected(ws)
        assert await handshake_status(server, room.order_id, cust) == 429
        # another user of the room is not affected
        assert await handshake_status(server, room.order_id, room.vendor_token()) == 101
    finally:
        for c in clients:
            await c.__aexit__(None, None, None)
    # slots are given back when connections close
    async with ws_connect(server, room.order_id, cust) as ws:
        await connected(ws)
    metrics = await get_text(server, "/metrics")
    assert 'orderchat_websocket_connections_total{outcome="too_many"} 1.0' in metrics


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
async def test_allowed_origins_setting(start_server: StartServer) -> None:
    server = start_server(allowed_origins="https://app.example, https://admin.example/")
    room = await open_room(server)
    cust = room.customer_token()
    assert await handshake_status(server, room.order_id, cust, origin="https://app.example") == 101
    assert (
        await handshake_status(server, room.order_id, cust, origin="https://admin.example") == 101
    )
    assert await handshake_status(server, room.order_id, cust, origin=server.url) == 403
    assert await handshake_status(server, room.order_id, cust) == 101


async def test_connected_frame(server: ServerProc) -> None:
    room = await open_room(server)
    async with ws_connect(server, room.order_id, room.customer_token()) as ws:
        data = await connected(ws)
    assert data == {
        "orderId": room.order_id,
        "readOnly": False,
        "closedReason": None,
        "participants": [
            {"userId": room.customer, "role": "customer"},
            {"userId": room.vendor, "role": "vendor"},
        ],
        "you": {"userId": room.customer, "role": "customer"},
        "lastSeq": 0,
    }
    body = await get_json(server, f"/v1/rooms/{room.order_id}", room.vendor_token())
    assert body["lastSeq"] == 0
