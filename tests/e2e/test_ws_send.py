"""SPEC 5.3: sending, acks, newMessage to every other connection, idempotency, errors."""

from __future__ import annotations

import asyncio
import uuid
from datetime import datetime

from tests.conftest import MESSAGE_FIELDS
from tests.e2e.conftest import ServerProc
from tests.e2e.ws_support import (
    connected,
    get_json,
    get_text,
    open_room,
    recv,
    recv_event,
    send,
    ws_connect,
)


async def test_send_ack_and_new_message(server: ServerProc) -> None:
    room = await open_room(server)
    oid = room.order_id
    async with (
        ws_connect(server, oid, room.customer_token()) as cust,
        ws_connect(server, oid, room.customer_token()) as cust2,
        ws_connect(server, oid, room.vendor_token()) as vend,
    ):
        for ws in (cust, cust2, vend):
            assert (await connected(ws))["lastSeq"] == 0
        await send(
            cust,
            "sendMessage",
            {"message": "hello <b>", "clientMessageId": "c-1", "senderId": room.vendor},
        )
        ack = await recv(cust)
        assert ack["event"] == "messageAck"
        data = ack["data"]
        assert set(data) == MESSAGE_FIELDS | {"duplicate"}
        assert data["duplicate"] is False and data["seq"] == 1
        assert data["senderId"] == room.customer and data["senderRole"] == "customer"
        assert data["content"] == "hello <b>" and data["clientMessageId"] == "c-1"
        assert data["orderId"] == oid
        uuid.UUID(data["messageId"])
        ts = data["timestamp"]
        assert ts.endswith("Z") and len(ts) == len("2026-11-24T05:28:52.123Z")
        datetime.fromisoformat(ts)
        expected = {k: v for k, v in data.items() if k != "duplicate"}
        for ws in (cust2, vend):  # the same user's other connection gets it too
            frame = await recv(ws)
            assert frame == {"event": "newMessage", "data": expected}

        # without clientMessageId: null
        await send(vend, "sendMessage", {"message": "hi"})
        ack2 = await recv_event(vend, "messageAck")
        assert ack2["seq"] == 2 and ack2["clientMessageId"] is None
        assert (await recv_event(cust, "newMessage"))["seq"] == 2

        # a repeated clientMessageId stores nothing and acks the original
        await send(cust, "sendMessage", {"message": "hello again", "clientMessageId": "c-1"})
        dup = await recv_event(cust, "messageAck")
        assert dup == {**data, "duplicate": True}
        await send(cust, "ping")
        assert (await recv(cust))["event"] == "pong"
        await send(vend, "ping")
        assert (await recv(vend))["event"] == "pong"  # no newMessage for the duplicate
        await send(cust, "sendMessage", {"message": ""})
        assert (await recv(cust))["data"]["code"] == "MESSAGE_EMPTY"

        metrics = await get_text(server, "/metrics")
        for line in [
            "orderchat_websocket_connections_active 3.0",
            'orderchat_websocket_connections_total{outcome="accepted"} 3.0',
            'orderchat_messages_total{outcome="stored"} 2.0',
            'orderchat_messages_total{outcome="duplicate"} 1.0',
            'orderchat_messages_total{outcome="message_empty"} 1.0',
            "orderchat_message_store_seconds_count 3.0",
            "orderchat_message_fanout_seconds_count 3.0",
        ]:
            assert line in metrics.splitlines(), line

    body = await get_json(server, f"/v1/rooms/{oid}/messages", room.vendor_token())
    msgs = body["messages"]
    assert [m["seq"] for m in msgs] == [1, 2]
    assert msgs[0] == expected
    for _ in range(200):  # the server logs a close once it has processed it (no event to await)
        if server.logs().count(f"ws close order={oid}") == 3:
            break
        await asyncio.sleep(0.05)
    logs = server.logs()
    assert logs.count(f"ws open order={oid}") == logs.count(f"ws close order={oid}") == 3
    assert "hello" not in logs and "Bearer" not in logs and ".ey" not in logs
