"""SPEC 5.3: every refusal code, to the sender only; a bad frame never closes; >64 KiB: 1009."""

from __future__ import annotations

import asyncio

import pytest
from websockets.asyncio.client import ClientConnection

from tests.e2e.conftest import ServerProc, StartServer
from tests.e2e.ws_support import (
    close_code,
    connected,
    customer_and_vendor,
    get_json,
    open_room,
    post_event,
    recv,
    send,
    tok,
    ws_connect,
)


async def expect_error(ws: ClientConnection, code: str, cmid: str | None = None) -> None:
    frame = await recv(ws)
    assert frame["event"] == "error", frame
    assert frame["data"]["code"] == code, frame
    assert isinstance(frame["data"]["message"], str)
    assert frame["data"].get("clientMessageId") == cmid


async def test_every_bad_frame_gets_its_code_and_the_connection_stays(server: ServerProc) -> None:
    room = await open_room(server)
    async with customer_and_vendor(server, room) as (ws, peer):
        for raw in [
            "not json",
            "[1, 2]",
            '"text"',
            '{"data": {}}',
            '{"event": 5}',
            '{"event": "ping", "data": [1]}',
        ]:
            await ws.send(raw)
            await expect_error(ws, "INVALID_JSON")
        await ws.send(b'{"event": "ping", "data": {}}')  # a binary frame is not a JSON text frame
        await expect_error(ws, "INVALID_JSON")
        await send(ws, "deleteMessage", {"seq": 1})
        await expect_error(ws, "UNKNOWN_EVENT")
        await send(ws, "sendMessage", {"message": 42, "clientMessageId": "a"})
        await expect_error(ws, "INVALID_PAYLOAD", "a")
        await send(ws, "sendMessage", {"message": "hi", "clientMessageId": "x" * 65})
        await expect_error(ws, "INVALID_PAYLOAD")
        await send(ws, "sendMessage", {"message": "hi", "clientMessageId": 7})
        await expect_error(ws, "INVALID_PAYLOAD")
        await send(ws, "markRead", {"seq": "3"})
        await expect_error(ws, "INVALID_PAYLOAD")
        await send(ws, "sendMessage", {"message": "  \n\t ", "clientMessageId": "b"})
        await expect_error(ws, "MESSAGE_EMPTY", "b")
        await send(ws, "sendMessage", {"message": "y" * 4001})
        await expect_error(ws, "MESSAGE_TOO_LONG")
        # still open, nothing stored, the peer saw none of it
        await send(ws, "sendMessage", {"message": "y" * 4000, "clientMessageId": "ok"})
        ack = await recv(ws)
        assert ack["event"] == "messageAck" and ack["data"]["seq"] == 1
        frame = await recv(peer)
        assert frame["event"] == "newMessage" and frame["data"]["seq"] == 1


async def test_rate_limited(server: ServerProc) -> None:
    room = await open_room(server)
    async with ws_connect(server, room.order_id, room.customer_token()) as ws:
        await connected(ws)
        # the burst (20) passes, then the sender is refused until tokens come back
        for i in range(30):
            await send(ws, "sendMessage", {"message": f"m{i}", "clientMessageId": f"r{i}"})
        acks, limited = [], []
        for _ in range(30):
            frame = await recv(ws)
            if frame["event"] == "messageAck":
                acks.append(frame["data"]["clientMessageId"])
            else:
                assert frame["data"]["code"] == "RATE_LIMITED", frame
                limited.append(frame["data"]["clientMessageId"])
        assert len(limited) >= 5 and len(acks) + len(limited) == 30
        assert acks[:20] == [f"r{i}" for i in range(20)]
    body = await get_json(server, f"/v1/rooms/{room.order_id}", room.customer_token())
    assert body["lastSeq"] == len(acks)


async def test_room_read_only_and_admin_forbidden(server: ServerProc) -> None:
    room = await open_room(server)
    admin = tok("admin")
    async with (
        ws_connect(server, room.order_id, room.customer_token()) as ws,
        ws_connect(server, room.order_id, admin) as adm,
    ):
        await connected(ws)
        assert (await connected(adm))["you"]["role"] == "admin"
        await send(adm, "sendMessage", {"message": "I am admin", "clientMessageId": "adm"})
        await expect_error(adm, "FORBIDDEN", "adm")
        await post_event(
            server, "order.delivered", orderId=room.order_id, deliveredAt="2026-11-24T05:00:00Z"
        )
        closed = await recv(ws)
        assert closed["event"] == "roomClosed"
        await send(ws, "sendMessage", {"message": "too late", "clientMessageId": "late"})
        await expect_error(ws, "ROOM_READ_ONLY", "late")
    body = await get_json(server, f"/v1/rooms/{room.order_id}/messages", room.vendor_token())
    assert body["messages"] == []


async def test_frame_over_64k_closes_1009(server: ServerProc) -> None:
    room = await open_room(server)
    async with ws_connect(server, room.order_id, room.customer_token()) as ws:
        await connected(ws)
        await send(ws, "sendMessage", {"message": "z" * 65_000})  # just under: an error frame
        await expect_error(ws, "MESSAGE_TOO_LONG")
        await send(ws, "sendMessage", {"message": "z" * (64 * 1024)})
        assert await close_code(ws) == 1009


@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
async def test_unavailable_when_database_is_down(start_server: StartServer, db_url: str) -> None:
    """Database down (a TCP proxy in front of PostgreSQL is cut): UNAVAILABLE, never an ack."""
    from tests.tcp_proxy import TcpProxy

    host_port = db_url.split("@", 1)[1].split("/", 1)[0]
    host, port = host_port.split(":")
    proxy = TcpProxy(host, int(port))
    await proxy.start()
    try:
        proxied = db_url.replace(host_port, f"127.0.0.1:{proxy.port}")
        server = await asyncio.to_thread(start_server, database_url=proxied)
        room = await open_room(server)
        async with ws_connect(server, room.order_id, room.customer_token()) as ws:
            await connected(ws)
            await send(ws, "sendMessage", {"message": "one", "clientMessageId": "u1"})
            assert (await recv(ws))["event"] == "messageAck"
            await proxy.close()
            await send(ws, "sendMessage", {"message": "two", "clientMessageId": "u2"})
            await expect_error(ws, "UNAVAILABLE", "u2")
            await proxy.start()
            await send(ws, "sendMessage", {"message": "two", "clientMessageId": "u2"})
            ack = await recv(ws)
            assert ack["event"] == "messageAck", ack
            assert ack["data"]["seq"] == 2 and ack["data"]["duplicate"] is False
    finally:
        await proxy.close()
