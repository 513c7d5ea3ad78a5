"""SPEC 5.5 and the small frames: token expiry 4401 and `authenticate`, typing, markRead/read,
ping/pong, the admin live view (read-only, audited), SIGTERM closing with 1001."""

from __future__ import annotations

import asyncio
import base64
import os
import uuid

import jwt
from websockets.exceptions import ConnectionClosed

from tests.e2e.conftest import ServerProc, StartServer
from tests.e2e.ws_support import (
    close_code,
    connected,
    get_json,
    open_room,
    recv,
    recv_event,
    send,
    tok,
    ws_connect,
)


def exp_of(token: str) -> int:
    return int(jwt.decode(token, options={"verify_signature": False})["exp"])


async def test_token_expiry_closes_4401_unless_refreshed(server: ServerProc) -> None:
    room = await open_room(server)
    refreshed = room.customer_token(ttl=3)
    plain = room.customer_token(ttl=3)
    assert exp_of(refreshed) <= exp_of(plain)
    async with (
        ws_connect(server, room.order_id, plain) as a,
        ws_connect(server, room.order_id, refreshed) as b,
    ):
        await connected(a)
        await connected(b)
        await send(b, "authenticate", {"token": "garbage"})
        assert (await recv(b))["data"]["code"] == "INVALID_PAYLOAD"
        await send(b, "authenticate", {"token": room.vendor_token()})  # another identity
        assert (await recv(b))["data"]["code"] == "FORBIDDEN"
        await send(b, "authenticate", {"token": room.customer_token(ttl=3600)})
        await send(b, "ping")
        assert (await recv(b))["event"] == "pong"  # accepted silently
        assert await close_code(a) == 4401
        # `a`'s token expired at or after `b`'s first one; `b` is still open
        await send(b, "ping")
        assert (await recv(b))["event"] == "pong"
        await send(b, "sendMessage", {"message": "still here"})
        ack = await recv(b)
        assert ack["event"] == "messageAck" and ack["data"]["senderId"] == room.customer


async def test_typing_read_ping(server: ServerProc) -> None:
    room = await open_room(server)
    async with (
        ws_connect(server, room.order_id, room.customer_token()) as cust,
        ws_connect(server, room.order_id, room.vendor_token()) as vend,
    ):
        await connected(cust)
        await connected(vend)
        await send(cust, "typing", {})
        await send(cust, "typing", {})  # a repeat within half a second adds nothing
        assert await recv(vend) == {"event": "typing", "data": {"userId": room.customer}}
        await send(cust, "ping", {})
        assert await recv(cust) == {"event": "pong", "data": {}}  # no typing echo to itself
        await send(vend, "sendMessage", {"message": "ready"})
        assert (await recv(vend))["event"] == "messageAck"
        assert (await recv(cust))["event"] == "newMessage"
        await send(cust, "markRead", {"seq": 1})
        assert await recv(vend) == {"event": "read", "data": {"userId": room.customer, "seq": 1}}
        await send(cust, "markRead", {"seq": 0})  # never moves back
        assert await recv(vend) == {"event": "read", "data": {"userId": room.customer, "seq": 1}}
        await send(cust, "markRead", {"seq": 99})  # never beyond what was delivered
        assert await recv(vend) == {"event": "read", "data": {"userId": room.customer, "seq": 1}}
        await send(vend, "ping")
        assert await recv(vend) == {"event": "pong", "data": {}}  # exactly one typing came


async def test_admin_live_view_is_read_only_and_audited(server: ServerProc) -> None:
    room = await open_room(server)
    admin_id = str(uuid.uuid4())
    admin = tok("admin", admin_id)
    async with (
        ws_connect(server, room.order_id, admin, last_seq=0) as adm,
        ws_connect(server, room.order_id, room.customer_token()) as cust,
    ):
        hello = await connected(adm)
        assert hello["you"] == {"userId": admin_id, "role": "admin"}
        await connected(cust)
        await send(cust, "sendMessage", {"message": "hello"})
        live = await recv(adm)
        assert live["event"] == "newMessage" and live["data"]["content"] == "hello"
        for event, data in [
            ("sendMessage", {"message": "x"}),
            ("typing", {}),
            ("markRead", {"seq": 1}),
        ]:
            await send(adm, event, data)
            assert (await recv(adm))["data"]["code"] == "FORBIDDEN"
        await send(cust, "ping")
        assert (await recv_event(cust, "pong")) == {}
    audit = await get_json(server, "/v1/admin/audit", tok("admin"))
    assert {"adminId": admin_id, "action": "live_view", "orderId": room.order_id} in [
        {k: e[k] for k in ("adminId", "action", "orderId")} for e in audit["entries"]
    ]


async def test_sigterm_flushes_acks_and_closes_1001(start_server: StartServer) -> None:
    server = start_server()
    room = await open_room(server)
    async with ws_connect(server, room.order_id, room.customer_token()) as ws:
        await connected(ws)
        for i in range(10):
            await send(ws, "sendMessage", {"message": f"m{i}", "clientMessageId": f"m{i}"})
        stopping = asyncio.ensure_future(asyncio.to_thread(server.stop))
        acked, refused = [], []
        try:
            while True:
                frame = await recv(ws)
                if frame["event"] == "messageAck":
                    acked.append(frame["data"]["clientMessageId"])
                else:
                    assert frame["data"]["code"] == "UNAVAILABLE", frame
                    refused.append(frame["data"]["clientMessageId"])
        except ConnectionClosed as closed:
            assert closed.rcvd is not None and closed.rcvd.code == 1001
        # uvicorn re-raises the captured SIGTERM after its graceful shutdown
        assert await stopping in (0, -15)
    # SPEC 5.5: what was acked is stored, nothing else is. A send the server had read
    # before it began draining is answered (ack, or UNAVAILABLE once draining); frames
    # still unread in the socket when the 1001 close goes out get no answer, and the
    # client retries them with the same clientMessageId on its next connection.
    sent = [f"m{i}" for i in range(10)]
    assert not set(acked) & set(refused)
    assert acked == sent[: len(acked)]  # acked in send order, none skipped
    assert set(refused) <= set(sent[len(acked) :])
    again = start_server()
    stored = await get_json(again, f"/v1/rooms/{room.order_id}/messages", room.customer_token())
    assert [m["clientMessageId"] for m in stored["messages"]] == acked


async def test_server_pings_and_drops_a_dead_client(start_server: StartServer) -> None:
    server = start_server(ws_ping_interval="0.5", ws_ping_timeout="2")
    room = await open_room(server)
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    key = base64.b64encode(os.urandom(16)).decode()
    writer.write(
        (
            f"GET /chat?orderId={room.order_id} HTTP/1.1\r\nHost: 127.0.0.1:{server.port}\r\n"
            "Upgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
            f"Authorization: Bearer {room.customer_token()}\r\n\r\n"
        ).encode()
    )
    async with asyncio.timeout(20):
        head = await reader.readuntil(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 101")
        # a live client next to it answers pings (the websockets library does) and stays
        async with ws_connect(server, room.order_id, room.vendor_token()) as live:
            await connected(live)
            seen = b""
            while True:  # read, never answer: a ping (opcode 0x9) comes, then the server hangs up
                chunk = await reader.read(4096)
                if not chunk:
                    break
                seen += chunk
            assert b"\x89" in seen  # an unmasked FIN+PING frame header
            await send(live, "ping")
            assert (await recv_event(live, "pong")) == {}
    writer.close()
