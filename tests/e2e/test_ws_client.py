"""orderchat.client against a started server: send with acks, iterate, reconnect with resume."""

from __future__ import annotations

import asyncio

import pytest

from orderchat.client import ChatClient, ChatClosed, ChatError
from tests.e2e.conftest import ServerProc, StartServer
from tests.e2e.ws_support import connected, open_room, post_event, recv, send, tok, ws_connect


async def test_client_send_iterate_and_errors(server: ServerProc) -> None:
    room = await open_room(server)
    async with (
        ChatClient(server.ws_url, room.order_id, room.customer_token()) as cust,
        ChatClient(server.ws_url, room.order_id, room.vendor_token, subprotocol=True) as vend,
    ):
        assert cust.connected is not None and cust.connected["lastSeq"] == 0
        ack = await cust.send("hello", "cm-1")
        assert ack["seq"] == 1 and ack["duplicate"] is False
        again = await cust.send("hello", "cm-1")
        assert again["duplicate"] is True and again["messageId"] == ack["messageId"]
        event, data = await vend.next(10)
        assert event == "newMessage" and data["messageId"] == ack["messageId"]
        with pytest.raises(ChatError) as refused:
            await cust.send("   ")
        assert refused.value.code == "MESSAGE_EMPTY"
        await vend.typing()
        assert await cust.next(10) == ("typing", {"userId": room.vendor})
        await vend.mark_read(1)
        assert await cust.next(10) == ("read", {"userId": room.vendor, "seq": 1})
    with pytest.raises(ChatClosed) as closed:
        await ChatClient(server.ws_url, room.order_id, tok("customer")).connect()
    assert closed.value.code == 403


async def test_client_reconnects_and_resumes_after_restart(start_server: StartServer) -> None:
    server = start_server()
    room = await open_room(server)
    async with ChatClient(
        server.ws_url, room.order_id, room.customer_token, backoff_initial=0.1
    ) as cust:
        async with ws_connect(server, room.order_id, room.vendor_token()) as vend:
            await connected(vend)
            for i in range(3):
                await send(vend, "sendMessage", {"message": f"before {i}"})
                await recv(vend)
        assert [(await cust.next(10))[1]["seq"] for _ in range(3)] == [1, 2, 3]
        await asyncio.to_thread(server.stop)  # 1001: the client starts reconnecting
        again = await asyncio.to_thread(start_server, port=server.port)
        async with ws_connect(again, room.order_id, room.vendor_token()) as vend:
            await connected(vend)
            for i in range(3):
                await send(vend, "sendMessage", {"message": f"after {i}"})
                await recv(vend)
        got = [(await cust.next(15))[1] for _ in range(3)]
        assert [m["seq"] for m in got] == [4, 5, 6]
        assert [m["content"] for m in got] == ["after 0", "after 1", "after 2"]
        assert cust.reconnects >= 1
        ack = await cust.send("back")
        assert ack["seq"] == 7
        await post_event(
            again, "order.delivered", orderId=room.order_id, deliveredAt="2026-11-24T05:00:00Z"
        )
        event, data = await cust.next(10)
        assert event == "roomClosed" and data["reason"] == "delivered"
