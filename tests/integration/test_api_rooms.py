"""GET /v1/rooms/{orderId} and its messages (SPEC 6): who may read, paging, on both databases."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

import httpx
import pytest

from orderchat.domain.messages import utcnow_ms
from orderchat.services import Services
from tests.conftest import MESSAGE_FIELDS, TokenFactory, auth


class Room:
    def __init__(self, ids: dict[str, str], rider: str) -> None:
        self.oid = ids["orderId"]
        self.customer = ids["customerId"]
        self.vendor = ids["vendorId"]
        self.rider = rider


@pytest.fixture
async def room(services: Services, order: Callable[..., Awaitable[dict[str, str]]]) -> Room:
    ids = await order()
    rider = str(uuid.uuid4())
    await services.events.handle(
        "order.rider_assigned", {"orderId": ids["orderId"], "riderId": rider}, source="test"
    )
    return Room(ids, rider)


async def seed(services: Services, room: Room, n: int) -> None:
    for i in range(n):
        await services.store.messages.append(
            order_id=uuid.UUID(room.oid),
            sender_id=uuid.UUID(room.customer if i % 2 == 0 else room.vendor),
            sender_role="customer" if i % 2 == 0 else "vendor",
            content=f"message {i + 1}",
            client_message_id=f"c{i + 1}" if i % 3 == 0 else None,
            now=utcnow_ms(),
        )


def readers(room: Room, token: TokenFactory) -> dict[str, str]:
    return {
        "customer": token("customer", room.customer),
        "vendor": token("vendor", room.vendor),
        "rider": token("rider", room.rider),
        "admin": token("admin"),
    }


def refused(room: Room, token: TokenFactory) -> dict[str, tuple[dict[str, str], int]]:
    return {
        "outsider customer": (auth(token("customer")), 403),
        "outsider rider": (auth(token("rider")), 403),
        "customer id, vendor role": (auth(token("vendor", room.customer)), 403),
        "vendor id, rider role": (auth(token("rider", room.vendor)), 403),
        "service": (auth(token("service")), 403),
        "service with a participant id": (auth(token("service", room.customer)), 403),
        "no token": ({}, 401),
        "garbage token": ({"Authorization": "Bearer abc.def.ghi"}, 401),
        "expired": (auth(token("customer", room.customer, ttl=-120)), 401),
        "not bearer": ({"Authorization": f"Token {token('customer', room.customer)}"}, 401),
    }


@pytest.mark.parametrize("path", ["", "/messages"])
async def test_who_may_read(
    client: httpx.AsyncClient, room: Room, token: TokenFactory, path: str
) -> None:
    url = f"/v1/rooms/{room.oid}{path}"
    for who, tok in readers(room, token).items():
        resp = await client.get(url, headers=auth(tok))
        assert resp.status_code == 200, (who, resp.text)
    for who, (headers, status) in refused(room, token).items():
        resp = await client.get(url, headers=headers)
        assert resp.status_code == status, (who, resp.text)
        assert "orderId" not in resp.json() and "messages" not in resp.json()
        if status == 401:
            assert resp.headers["www-authenticate"] == "Bearer"


async def test_room_body(client: httpx.AsyncClient, room: Room, token: TokenFactory) -> None:
    resp = await client.get(f"/v1/rooms/{room.oid}", headers=auth(token("vendor", room.vendor)))
    body = resp.json()
    assert set(body) == {
        "orderId",
        "readOnly",
        "closedReason",
        "createdAt",
        "closedAt",
        "participants",
        "lastSeq",
    }
    assert body["orderId"] == room.oid and body["readOnly"] is False
    assert body["closedReason"] is None and body["closedAt"] is None and body["lastSeq"] == 0
    assert body["createdAt"].endswith("Z")
    datetime.fromisoformat(body["createdAt"])
    assert sorted((p["role"], p["userId"]) for p in body["participants"]) == [
        ("customer", room.customer),
        ("rider", room.rider),
        ("vendor", room.vendor),
    ]


async def test_closed_room_still_readable(
    client: httpx.AsyncClient, room: Room, token: TokenFactory, services: Services
) -> None:
    await seed(services, room, 2)
    await services.events.handle("order.cancelled", {"orderId": room.oid}, source="test")
    body = (
        await client.get(f"/v1/rooms/{room.oid}", headers=auth(token("customer", room.customer)))
    ).json()
    assert body["readOnly"] is True and body["closedReason"] == "cancelled"
    assert body["closedAt"].endswith("Z") and body["lastSeq"] == 2
    resp = await client.get(
        f"/v1/rooms/{room.oid}/messages", headers=auth(token("rider", room.rider))
    )
    assert [m["seq"] for m in resp.json()["messages"]] == [1, 2]


async def test_unassigned_rider_loses_access(
    client: httpx.AsyncClient, room: Room, token: TokenFactory, services: Services
) -> None:
    await services.events.handle(
        "order.rider_unassigned", {"orderId": room.oid, "riderId": room.rider}, source="test"
    )
    for path in ("", "/messages"):
        resp = await client.get(
            f"/v1/rooms/{room.oid}{path}", headers=auth(token("rider", room.rider))
        )
        assert resp.status_code == 403


async def test_unknown_room(client: httpx.AsyncClient, token: TokenFactory) -> None:
    oid = uuid.uuid4()
    for path in ("", "/messages"):
        url = f"/v1/rooms/{oid}{path}"
        assert (await client.get(url, headers=auth(token("customer")))).status_code == 403
        assert (await client.get(url, headers=auth(token("admin")))).status_code == 404
        assert (await client.get(url)).status_code == 401


async def test_bad_order_id(client: httpx.AsyncClient, token: TokenFactory) -> None:
    for path in ("/v1/rooms/not-a-uuid", "/v1/rooms/1234/messages"):
        resp = await client.get(path, headers=auth(token("admin")))
        assert resp.status_code == 400, resp.text


async def page(
    client: httpx.AsyncClient, room: Room, tok: str, **params: Any
) -> tuple[list[int], bool]:
    resp = await client.get(f"/v1/rooms/{room.oid}/messages", params=params, headers=auth(tok))
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert set(body) == {"messages", "hasMore"}
    return [m["seq"] for m in body["messages"]], body["hasMore"]


async def test_message_paging(
    client: httpx.AsyncClient, room: Room, token: TokenFactory, services: Services
) -> None:
    await seed(services, room, 7)
    tok = token("customer", room.customer)
    assert await page(client, room, tok) == ([1, 2, 3, 4, 5, 6, 7], False)
    # Neither bound: the latest `limit`; hasMore says older exist.
    assert await page(client, room, tok, limit=3) == ([5, 6, 7], True)
    assert await page(client, room, tok, limit=7) == ([1, 2, 3, 4, 5, 6, 7], False)
    # afterSeq: the first `limit` after it; hasMore says newer exist.
    assert await page(client, room, tok, afterSeq=0, limit=3) == ([1, 2, 3], True)
    assert await page(client, room, tok, afterSeq=3, limit=3) == ([4, 5, 6], True)
    assert await page(client, room, tok, afterSeq=4, limit=3) == ([5, 6, 7], False)
    assert await page(client, room, tok, afterSeq=6) == ([7], False)
    assert await page(client, room, tok, afterSeq=7) == ([], False)
    assert await page(client, room, tok, afterSeq=100) == ([], False)
    # beforeSeq: the latest `limit` before it; hasMore says older exist.
    assert await page(client, room, tok, beforeSeq=5, limit=2) == ([3, 4], True)
    assert await page(client, room, tok, beforeSeq=3, limit=2) == ([1, 2], False)
    assert await page(client, room, tok, beforeSeq=3, limit=5) == ([1, 2], False)
    assert await page(client, room, tok, beforeSeq=1) == ([], False)
    # Both bounds: a window.
    assert await page(client, room, tok, afterSeq=2, beforeSeq=6, limit=2) == ([3, 4], True)
    assert await page(client, room, tok, afterSeq=2, beforeSeq=6) == ([3, 4, 5], False)


async def test_walking_back_and_forth_sees_every_message_once(
    client: httpx.AsyncClient, room: Room, token: TokenFactory, services: Services
) -> None:
    await seed(services, room, 11)
    tok = token("admin")
    forward: list[int] = []
    after, more = 0, True
    while more:
        seqs, more = await page(client, room, tok, afterSeq=after, limit=4)
        forward += seqs
        after = seqs[-1] if seqs else after
    assert forward == list(range(1, 12))
    backward: list[int] = []
    seqs, more = await page(client, room, tok, limit=4)
    backward = seqs
    while more:
        seqs, more = await page(client, room, tok, beforeSeq=backward[0], limit=4)
        backward = seqs + backward
    assert backward == list(range(1, 12))


async def test_limit_bounds_and_default(
    client: httpx.AsyncClient, room: Room, token: TokenFactory, services: Services
) -> None:
    await seed(services, room, 55)
    tok = token("vendor", room.vendor)
    seqs, more = await page(client, room, tok)
    assert seqs == list(range(6, 56)) and more is True  # default 50
    seqs, more = await page(client, room, tok, limit=200)
    assert seqs == list(range(1, 56)) and more is False
    seqs, more = await page(client, room, tok, afterSeq=0)
    assert seqs == list(range(1, 51)) and more is True
    url = f"/v1/rooms/{room.oid}/messages"
    for params in (
        {"limit": 201},
        {"limit": 0},
        {"limit": -1},
        {"limit": "ten"},
        {"afterSeq": -1},
        {"afterSeq": "x"},
        {"beforeSeq": 0},
        {"beforeSeq": "1.5"},
    ):
        resp = await client.get(url, params=params, headers=auth(tok))
        assert resp.status_code == 400, (params, resp.text)
        assert next(iter(params)) in resp.json()["message"]


async def test_message_shape(
    client: httpx.AsyncClient, room: Room, token: TokenFactory, services: Services
) -> None:
    await seed(services, room, 2)
    resp = await client.get(
        f"/v1/rooms/{room.oid}/messages", headers=auth(token("customer", room.customer))
    )
    first, second = resp.json()["messages"]
    assert set(first) == MESSAGE_FIELDS and set(second) == MESSAGE_FIELDS
    assert first["orderId"] == room.oid and first["seq"] == 1
    assert first["senderId"] == room.customer and first["senderRole"] == "customer"
    assert first["content"] == "message 1" and first["clientMessageId"] == "c1"
    assert second["senderRole"] == "vendor" and second["clientMessageId"] is None
    uuid.UUID(first["messageId"])
    assert first["messageId"] != second["messageId"]
    for m in (first, second):
        ts = m["timestamp"]
        assert len(ts) == len("2026-11-24T05:28:52.123Z") and ts.endswith("Z"), ts
        datetime.fromisoformat(ts)
    room_body = (await client.get(f"/v1/rooms/{room.oid}", headers=auth(token("admin")))).json()
    assert room_body["lastSeq"] == 2
