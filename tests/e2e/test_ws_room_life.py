"""SPEC 4.2/5: room life reaches live connections: roomClosed, participantJoined/Left, 4403;
and a race of sends against the close never stores a message after it."""

from __future__ import annotations

import asyncio
import uuid
from datetime import datetime
from typing import Any

from websockets.asyncio.client import ClientConnection

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


async def test_rider_joins_leaves_and_is_cut_off(server: ServerProc) -> None:
    room = await open_room(server)
    rider = str(uuid.uuid4())
    async with ws_connect(server, room.order_id, room.customer_token()) as cust:
        await connected(cust)
        await post_event(server, "order.rider_assigned", orderId=room.order_id, riderId=rider)
        assert await recv(cust) == {
            "event": "participantJoined",
            "data": {"userId": rider, "role": "rider"},
        }
        async with ws_connect(server, room.order_id, tok("rider", rider)) as rws:
            hello = await connected(rws)
            assert {"userId": rider, "role": "rider"} in hello["participants"]
            await send(rws, "sendMessage", {"message": "on my way"})
            assert (await recv(rws))["event"] == "messageAck"
            assert (await recv(cust))["data"]["senderRole"] == "rider"
            await post_event(server, "order.rider_unassigned", orderId=room.order_id, riderId=rider)
            assert await close_code(rws) == 4403
            assert await recv(cust) == {
                "event": "participantLeft",
                "data": {"userId": rider, "role": "rider"},
            }
        # a late duplicate assignment does not bring the rider back
        await post_event(server, "order.rider_assigned", orderId=room.order_id, riderId=rider)
        from tests.e2e.ws_support import handshake_status

        assert await handshake_status(server, room.order_id, tok("rider", rider)) == 403
        await send(cust, "ping")
        assert (await recv(cust))["event"] == "pong"  # no participantJoined came before it


async def test_room_closed_reaches_everyone_and_stays_readable(server: ServerProc) -> None:
    room = await open_room(server)
    async with (
        ws_connect(server, room.order_id, room.customer_token()) as cust,
        ws_connect(server, room.order_id, room.vendor_token()) as vend,
        ws_connect(server, room.order_id, tok("admin")) as adm,
    ):
        for ws in (cust, vend, adm):
            await connected(ws)
        await send(cust, "sendMessage", {"message": "where is it?"})
        await recv_event(cust, "messageAck")
        await post_event(server, "order.cancelled", orderId=room.order_id, reason="no stock")
        closed = [await recv_event(ws, "roomClosed") for ws in (cust, vend, adm)]
        assert closed[0] == closed[1] == closed[2]
        assert set(closed[0]) == {"orderId", "reason", "closedAt"}
        assert closed[0]["orderId"] == room.order_id and closed[0]["reason"] == "cancelled"
        assert closed[0]["closedAt"].endswith("Z")
        datetime.fromisoformat(closed[0]["closedAt"])
        await send(vend, "typing")
        assert (await recv(vend))["data"]["code"] == "ROOM_READ_ONLY"
    info = await get_json(server, f"/v1/rooms/{room.order_id}", room.customer_token())
    assert info["closedAt"] == closed[0]["closedAt"]
    async with ws_connect(server, room.order_id, room.vendor_token(), last_seq=0) as vend:
        hello = await connected(vend)
        assert hello["readOnly"] is True and hello["closedReason"] == "cancelled"
        assert (await recv(vend))["data"]["content"] == "where is it?"


async def _sender(ws: ClientConnection, tag: str, count: int) -> dict[str, Any]:
    """Send ``count`` messages pipelined; collect the answer to each one."""
    for i in range(count):
        await send(ws, "sendMessage", {"message": f"{tag}{i}", "clientMessageId": f"{tag}{i}"})
        await asyncio.sleep(0)
    answers: dict[str, Any] = {}
    while len(answers) < count:
        frame = await recv(ws)
        if frame["event"] == "messageAck":
            answers[frame["data"]["clientMessageId"]] = frame["data"]["seq"]
        elif frame["event"] == "error":
            answers[frame["data"]["clientMessageId"]] = frame["data"]["code"]
    return answers


async def test_sends_racing_the_close(start_server: StartServer) -> None:
    server = start_server(rate_per_second="100000", rate_burst="100000")
    room = await open_room(server)
    async with (
        ws_connect(server, room.order_id, room.customer_token()) as c1,
        ws_connect(server, room.order_id, room.customer_token()) as c2,
        ws_connect(server, room.order_id, room.vendor_token()) as v1,
    ):
        for ws in (c1, c2, v1):
            await connected(ws)
        senders = asyncio.gather(
            _sender(c1, "a", 120), _sender(c2, "b", 120), _sender(v1, "c", 120)
        )
        await asyncio.sleep(0.05)  # let some sends land before the close (not a timing assertion)
        await post_event(
            server, "order.delivered", orderId=room.order_id, deliveredAt="2026-11-24T05:00:00Z"
        )
        results = await asyncio.wait_for(senders, 60)
    acked = {seq for answers in results for seq in answers.values() if isinstance(seq, int)}
    refused = [code for answers in results for code in answers.values() if isinstance(code, str)]
    assert set(refused) <= {"ROOM_READ_ONLY"}
    assert len(acked) + len(refused) == 360
    stored = await get_json(
        server, f"/v1/rooms/{room.order_id}/messages?afterSeq=0&limit=200", room.vendor_token()
    )
    seqs = [m["seq"] for m in stored["messages"]]
    while stored["hasMore"]:
        stored = await get_json(
            server,
            f"/v1/rooms/{room.order_id}/messages?afterSeq={seqs[-1]}&limit=200",
            room.vendor_token(),
        )
        seqs += [m["seq"] for m in stored["messages"]]
    assert set(seqs) == acked and seqs == list(range(1, len(acked) + 1))
    info = await get_json(server, f"/v1/rooms/{room.order_id}", room.vendor_token())
    assert info["readOnly"] is True and info["lastSeq"] == len(acked)
    # every refused send came after every acked one in each sender's own order
    for answers in results:
        kinds = [isinstance(v, int) for v in answers.values()]
        assert kinds == sorted(kinds, reverse=True)
