"""The /chat socket itself (realtime/wire.py): fragments, UTF-8, size over fragments, paths."""

from __future__ import annotations

import orjson
from websockets.exceptions import InvalidStatus

from tests.e2e.conftest import ServerProc
from tests.e2e.ws_support import (
    close_code,
    connected,
    customer_and_vendor,
    open_room,
    recv,
    recv_event,
    send,
    ws_connect,
)


async def test_a_fragmented_text_frame_is_one_client_frame(server: ServerProc) -> None:
    room = await open_room(server)
    async with customer_and_vendor(server, room) as (ws, peer):
        raw = orjson.dumps({"event": "sendMessage", "data": {"message": "héllo in 3 parts"}})
        text = raw.decode()
        await ws.send([text[:10], text[10:25], text[25:]])  # three frames, one message
        ack = await recv_event(ws, "messageAck")
        assert ack["content"] == "héllo in 3 parts" and ack["seq"] == 1
        assert (await recv_event(peer, "newMessage"))["content"] == "héllo in 3 parts"


async def test_invalid_utf8_closes_1007_and_others_stay(server: ServerProc) -> None:
    room = await open_room(server)
    async with customer_and_vendor(server, room) as (ws, peer):
        await ws.send(b'{"event": "ping", "data": {"x": "\xff\xfe"}}', text=True)
        assert await close_code(ws) == 1007
        await send(peer, "ping")
        assert (await recv(peer))["event"] == "pong"


async def test_fragments_over_64_kib_in_all_close_1009(server: ServerProc) -> None:
    room = await open_room(server)
    async with ws_connect(server, room.order_id, room.customer_token()) as ws:
        await connected(ws)
        await ws.send(["x" * 40_000, "y" * 40_000])  # each fragment fits, the message does not
        assert await close_code(ws) == 1009


async def test_upgrade_to_another_path_is_404(server: ServerProc) -> None:
    room = await open_room(server)
    url = f"{server.ws_url}/elsewhere?orderId={room.order_id}"
    try:
        async with ws_connect(server, room.order_id, room.customer_token(), url=url):
            raise AssertionError("upgraded")
    except InvalidStatus as err:
        assert err.response.status_code == 404
