"""QA against a real server: message content edge cases (SPEC 5.3) on both databases.

- A NUL character cannot be stored in PostgreSQL text: it used to fail in the driver and
  answer UNAVAILABLE ("retry"), which can never succeed, with a traceback in the log —
  and SQLite stored it, so the two backends disagreed. It is INVALID_PAYLOAD on both.
- A message made only of invisible characters (zero-width space, BOM, word joiner...)
  is blank to its reader: MESSAGE_EMPTY, like whitespace.
- Length is counted in characters: 4000 emoji pass, 4001 do not.
"""

from __future__ import annotations

import pytest

from tests.e2e.conftest import ServerProc
from tests.e2e.ws_support import connected, get_json, open_room, recv, send, ws_connect


@pytest.mark.parametrize(
    ("data", "code"),
    [
        ({"message": "a\u0000b"}, "INVALID_PAYLOAD"),
        ({"message": "fine", "clientMessageId": "id\u0000"}, "INVALID_PAYLOAD"),
        ({"message": "\u200b"}, "MESSAGE_EMPTY"),
        ({"message": " \ufeff\u2060\u200b\n"}, "MESSAGE_EMPTY"),
        ({"message": "\U0001f600" * 4001}, "MESSAGE_TOO_LONG"),
    ],
    ids=["nul-message", "nul-client-id", "zwsp", "invisible-mix", "4001-emoji"],
)
async def test_refused_content_is_a_client_error_and_nothing_is_stored(
    server: ServerProc, data: dict[str, str], code: str
) -> None:
    room = await open_room(server)
    async with ws_connect(server, room.order_id, room.customer_token()) as ws:
        await connected(ws)
        await send(ws, "sendMessage", data)
        frame = await recv(ws)
        assert frame["event"] == "error", frame
        assert frame["data"]["code"] == code, frame
        # the connection stays usable and the next good message gets seq 1
        await send(ws, "sendMessage", {"message": "after"})
        ack = await recv(ws)
        assert ack["event"] == "messageAck", ack
        assert ack["data"]["seq"] == 1
    page = await get_json(server, f"/v1/rooms/{room.order_id}/messages", room.customer_token())
    assert [m["content"] for m in page["messages"]] == ["after"]
    logs = server.logs()
    assert "Traceback" not in logs
    assert " ERROR " not in logs


async def test_characters_not_bytes_and_visible_text_round_trips(server: ServerProc) -> None:
    room = await open_room(server)
    texts = [
        "\U0001f600" * 4000,  # exactly the limit, 4 UTF-8 bytes and 2 UTF-16 units each
        "\U0001f469\u200d\U0001f373 ready",  # a ZWJ sequence is visible text
        "<b>not html</b> \u00e9\u00e8 \u4e2d\u6587 \tx",
    ]
    async with ws_connect(server, room.order_id, room.customer_token()) as ws:
        await connected(ws)
        for n, text in enumerate(texts, 1):
            await send(ws, "sendMessage", {"message": text, "clientMessageId": "c" * 64})
            ack = await recv(ws)
            assert ack["event"] == "messageAck", ack
            # same clientMessageId: the first message is acked again as a duplicate
            assert ack["data"]["seq"] == 1
            assert ack["data"]["duplicate"] is (n > 1)
        await send(ws, "sendMessage", {"message": texts[1], "clientMessageId": "d"})
        assert (await recv(ws))["data"]["seq"] == 2
        await send(ws, "sendMessage", {"message": texts[2]})
        assert (await recv(ws))["data"]["seq"] == 3
    page = await get_json(server, f"/v1/rooms/{room.order_id}/messages", room.vendor_token())
    assert [m["content"] for m in page["messages"]] == texts
