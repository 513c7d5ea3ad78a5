"""SPEC 13: contact details masked before a message is stored, through the real WebSocket
path: the sender's ack, the other participant, history and the server's log all carry
the masked text; ``allow`` passes it as written; the region decides national formats."""

from __future__ import annotations

from tests.e2e.conftest import ServerProc, StartServer
from tests.e2e.test_observability import wait_metric
from tests.e2e.ws_support import customer_and_vendor, get_json, open_room, recv_event, send

TYPED = "call me on (415) 555-0132 or mail bob.smith@example.com, gate code 4821"
MASKED = "call me on [phone number hidden] or mail [email hidden], gate code 4821"


async def _send_and_read(server: ServerProc, text: str) -> tuple[str, str, str]:
    """(ack content, the vendor's newMessage content, history content) for one send."""
    room = await open_room(server)
    async with customer_and_vendor(server, room) as (cust, vend):
        await send(cust, "sendMessage", {"message": text, "clientMessageId": "m-1"})
        ack = await recv_event(cust, "messageAck")
        got = await recv_event(vend, "newMessage")
        # a retry of the same send acks the stored, masked original
        await send(cust, "sendMessage", {"message": text, "clientMessageId": "m-1"})
        again = await recv_event(cust, "messageAck")
        assert again["duplicate"] is True and again["content"] == ack["content"]
    body = await get_json(server, f"/v1/rooms/{room.order_id}/messages", room.vendor_token())
    assert len(body["messages"]) == 1
    return ack["content"], got["content"], body["messages"][0]["content"]


async def test_masked_everywhere_and_never_logged(start_server: StartServer) -> None:
    server = start_server()  # mask is the default
    assert await _send_and_read(server, TYPED) == (MASKED, MASKED, MASKED)
    assert await wait_metric(server, "orderchat_contact_details_masked_total", 2) == 2
    logs = server.logs()
    assert "555-0132" not in logs and "bob.smith" not in logs


async def test_text_without_contact_details_is_unchanged(server: ServerProc) -> None:
    text = "order #48213, $23.50, at 12:45, flat 12B, door code 4821#, 5 mins"
    assert await _send_and_read(server, text) == (text, text, text)


async def test_allow_passes_contact_details(start_server: StartServer) -> None:
    server = start_server(contact_details="allow")
    assert await _send_and_read(server, TYPED) == (TYPED, TYPED, TYPED)


async def test_region_reads_national_formats(start_server: StartServer) -> None:
    uk = "ring 020 7946 0958 when here"
    server = start_server(phone_region="GB")
    ack, _peer, _history = await _send_and_read(server, uk)
    assert ack == "ring [phone number hidden] when here"
