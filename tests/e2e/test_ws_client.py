"""orderchat.client against a started server: send with acks, iterate, the exceptions."""

from __future__ import annotations

import asyncio
import uuid

import pytest

from orderchat.client import (
    ChatClient,
    ChatClosed,
    ChatError,
    ClientError,
    Forbidden,
    RoomReadOnly,
    SendForbidden,
    Unauthorized,
)
from tests.e2e.conftest import ServerProc
from tests.e2e.ws_support import open_room, post_event, tok


async def test_client_send_iterate_and_frames(server: ServerProc) -> None:
    room = await open_room(server)
    async with (
        ChatClient(server.url, room.order_id, room.customer_token()) as cust,
        ChatClient(server.ws_url, room.order_id, room.vendor_token, subprotocol=True) as vend,
    ):
        assert cust.connected is not None and cust.connected["lastSeq"] == 0
        assert cust.read_only is False
        ack = await cust.send("hello", "cm-1")
        assert ack["seq"] == 1 and ack["duplicate"] is False
        again = await cust.send("hello", "cm-1")
        assert again["duplicate"] is True and again["messageId"] == ack["messageId"]
        # the client's own stream has its ack once (the duplicate ack is not a new message)
        assert await cust.next(10) == ("messageAck", ack)
        event, data = await vend.next(10)
        assert event == "newMessage" and data["messageId"] == ack["messageId"]
        with pytest.raises(ChatError) as refused:
            await cust.send("   ")
        assert refused.value.code == "MESSAGE_EMPTY"
        await vend.typing()
        assert await cust.next(10) == ("typing", {"userId": room.vendor})
        await vend.mark_read(1)
        assert await cust.next(10) == ("read", {"userId": room.vendor, "seq": 1})
        reply = await vend.send("hi there")
        got = [m async for m in _take(cust.messages(), 1)]
        assert got == [{k: v for k, v in reply.items() if k != "duplicate"}]
        assert cust.last_seq == vend.last_seq == 2
    # after close(), iteration ends quietly and sends fail clearly
    assert [frame async for frame in cust] == []
    with pytest.raises(ChatClosed) as closed:
        await cust.send("too late")
    assert closed.value.code == 1000


async def _take(source: object, n: int) -> object:
    got = 0
    async for item in source:  # type: ignore[attr-defined]
        yield item
        got += 1
        if got == n:
            return


async def test_client_resumes_from_a_given_last_seq(server: ServerProc) -> None:
    room = await open_room(server)
    async with ChatClient(server.ws_url, room.order_id, room.customer_token()) as cust:
        for i in range(4):
            await cust.send(f"m{i}")
    async with ChatClient(server.ws_url, room.order_id, room.vendor_token(), last_seq=1) as v:
        got = [m async for m in _take(v.messages(), 3)]
    assert [(m["seq"], m["content"]) for m in got] == [(2, "m1"), (3, "m2"), (4, "m3")]


async def test_handshake_refusals_raise_unauthorized_and_forbidden(server: ServerProc) -> None:
    room = await open_room(server)
    with pytest.raises(Unauthorized) as bad_token:
        await ChatClient(server.ws_url, room.order_id, "not-a-jwt").connect()
    assert bad_token.value.code == 401
    with pytest.raises(Forbidden) as stranger:
        await ChatClient(server.ws_url, room.order_id, tok("customer")).connect()
    assert stranger.value.code == 403
    with pytest.raises(Forbidden):  # no such room
        await ChatClient(server.ws_url, str(uuid.uuid4()), tok("customer")).connect()
    assert isinstance(stranger.value, ChatClosed) and isinstance(stranger.value, ClientError)


async def test_read_only_and_admin_sends_raise(server: ServerProc) -> None:
    room = await open_room(server)
    async with (
        ChatClient(server.ws_url, room.order_id, room.customer_token()) as cust,
        ChatClient(server.ws_url, room.order_id, tok("admin")) as admin,
    ):
        with pytest.raises(SendForbidden) as forbidden:
            await admin.send("I am the admin")
        assert forbidden.value.code == "FORBIDDEN" and isinstance(forbidden.value, ChatError)
        await cust.send("before the end")
        await post_event(
            server, "order.delivered", orderId=room.order_id, deliveredAt="2026-11-24T05:00:00Z"
        )
        frames = [await cust.next(10), await cust.next(10)]
        assert frames[0][0] == "messageAck"
        assert frames[1][0] == "roomClosed" and frames[1][1]["reason"] == "delivered"
        assert cust.read_only is True
        with pytest.raises(RoomReadOnly) as refused:
            await cust.send("after the end")
        assert refused.value.code == "ROOM_READ_ONLY"
    async with ChatClient(server.ws_url, room.order_id, room.vendor_token(), last_seq=0) as v:
        assert v.read_only is True
        assert [m["content"] async for m in _take(v.messages(), 1)] == ["before the end"]


async def test_unassigned_rider_gets_forbidden_from_the_iteration(server: ServerProc) -> None:
    room = await open_room(server)
    rider = str(uuid.uuid4())
    await post_event(server, "order.rider_assigned", orderId=room.order_id, riderId=rider)
    async with ChatClient(server.ws_url, room.order_id, tok("rider", rider)) as rid:
        await post_event(server, "order.rider_unassigned", orderId=room.order_id, riderId=rider)
        with pytest.raises(Forbidden) as revoked:
            async for _frame in rid:
                pass
        assert revoked.value.code == 4403
        with pytest.raises(Forbidden):
            await rid.send("still here?")


async def test_expired_token_raises_unauthorized_unless_renewable(server: ServerProc) -> None:
    room = await open_room(server)
    asked: list[str] = []
    renewed = asyncio.Event()

    def renew() -> str:
        asked.append(room.vendor_token(ttl=3 if not asked else 3600))
        if len(asked) > 1:
            renewed.set()
        return asked[-1]

    async with (
        ChatClient(server.ws_url, room.order_id, room.customer_token(ttl=3)) as cust,
        ChatClient(server.ws_url, room.order_id, renew, backoff_initial=0.05) as vend,
    ):
        with pytest.raises(Unauthorized) as expired:
            async for _frame in cust:
                pass
        assert expired.value.code == 4401
        # the vendor's token expired too (4401), and its callable was asked for a new one
        await asyncio.wait_for(renewed.wait(), 15)
        ack = await vend.send("still here")
        assert ack["seq"] == 1 and vend.reconnects == 1
