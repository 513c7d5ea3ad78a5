"""QA against a real server: identity and upgrade edge cases (SPEC 2, 5.1, 6).

Ambiguous requests are refused instead of silently picking one value: two
``Authorization`` headers (a proxy may have checked the other one) are a 401 on HTTP and
on the upgrade, whatever their order; two ``orderId`` (or ``lastSeq``) query values are
a 400. The rest pins down what already worked: case-insensitive ``Bearer``, canonical
(lower-case) ids from upper-case UUIDs in the URL, the events and the token's ``sub``.
"""

from __future__ import annotations

import uuid
from typing import Any

import httpx
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from tests.e2e.conftest import ServerProc
from tests.e2e.ws_support import (
    TIMEOUT,
    chat_url,
    connected,
    open_room,
    post_event,
    recv,
    send,
    tok,
)


async def upgrade(
    url: str, headers: list[tuple[str, str]], protocols: list[Any] | None = None
) -> tuple[int, dict[str, Any] | None, str | None]:
    """(status, connected data or None, negotiated subprotocol)."""
    try:
        async with connect(
            url,
            additional_headers=headers,
            subprotocols=protocols,
            proxy=None,
            open_timeout=TIMEOUT,
        ) as ws:
            return 101, await connected(ws), ws.subprotocol
    except InvalidStatus as err:
        return int(err.response.status_code), None, None


async def test_two_authorization_headers_are_refused_in_either_order(server: ServerProc) -> None:
    room = await open_room(server)
    good, bad = f"Bearer {room.customer_token()}", "Bearer junk"
    url = chat_url(server, room.order_id)
    for pair in ([good, bad], [bad, good], [good, good]):
        headers = [("Authorization", value) for value in pair]
        status, _, _ = await upgrade(url, headers)
        assert status == 401, pair
        async with httpx.AsyncClient(base_url=server.url, timeout=TIMEOUT) as http:
            resp = await http.get(f"/v1/rooms/{room.order_id}", headers=headers)
        assert resp.status_code == 401, resp.text
        assert resp.headers["www-authenticate"] == "Bearer"
    # one header still works, and the scheme is case-insensitive
    for value in (good, f"bearer {room.customer_token()}", f"BEARER  {room.customer_token()}"):
        status, data, _ = await upgrade(url, [("Authorization", value)])
        assert status == 101, value
        assert data is not None and data["you"]["role"] == "customer"


async def test_repeated_query_parameters_are_400(server: ServerProc) -> None:
    room = await open_room(server)
    other = await open_room(server)
    headers = [("Authorization", f"Bearer {room.customer_token()}")]
    base = f"{server.ws_url}/chat?orderId={room.order_id}"
    for url in (
        f"{base}&orderId={other.order_id}",
        f"{server.ws_url}/chat?orderId={other.order_id}&orderId={room.order_id}",
        f"{base}&orderId={room.order_id}",
        f"{base}&lastSeq=0&lastSeq=5",
    ):
        status, _, _ = await upgrade(url, headers)
        assert status == 400, url
    status, _, _ = await upgrade(f"{base}&lastSeq=0", headers)
    assert status == 101


async def test_upper_case_uuids_everywhere_mean_the_same_user_and_room(server: ServerProc) -> None:
    order_id, customer, vendor = (str(uuid.uuid4()) for _ in range(3))
    await post_event(
        server,
        "order.accepted",
        orderId=order_id.upper(),
        customerId=customer.upper(),
        vendorId=vendor,
    )
    url = chat_url(server, order_id.upper())
    c_headers = [("Authorization", f"Bearer {tok('customer', customer.upper())}")]
    status, data, _ = await upgrade(url, c_headers)
    assert status == 101
    assert data is not None
    assert data["orderId"] == order_id
    assert data["you"] == {"userId": customer, "role": "customer"}
    # and the canonical id is what a message carries
    async with connect(url, additional_headers=c_headers, proxy=None) as ws:
        await connected(ws)
        await send(ws, "sendMessage", {"message": "hi"})
        ack = (await recv(ws))["data"]
    assert ack["senderId"] == customer and ack["orderId"] == order_id


async def test_subprotocol_pair_in_any_order_negotiates_orderchat_v1(server: ServerProc) -> None:
    room = await open_room(server)
    url = chat_url(server, room.order_id)
    bearer = f"bearer.{room.vendor_token()}"
    for protocols in (["orderchat.v1", bearer], [bearer, "orderchat.v1"]):
        status, data, negotiated = await upgrade(url, [], protocols)
        assert status == 101
        assert negotiated == "orderchat.v1"
        assert data is not None and data["you"]["role"] == "vendor"
    status, _, _ = await upgrade(url, [], ["orderchat.v1"])
    assert status == 401
    status, _, _ = await upgrade(url + f"&access_token={room.vendor_token()}", [])
    assert status == 401, "tokens are never read from the query string"
