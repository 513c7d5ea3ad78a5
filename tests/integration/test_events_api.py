"""POST /v1/events (SPEC 4.2, 4.4) through the app, on both databases."""

from __future__ import annotations

import logging
import uuid
from typing import Any

import httpx
import pytest

from orderchat.services import Services
from tests.conftest import TokenFactory, auth


class Events:
    def __init__(self, client: httpx.AsyncClient, token: TokenFactory) -> None:
        self.client = client
        self.headers = auth(token("service"))
        self.admin = auth(token("admin"))

    async def post(self, event_type: str, **payload: Any) -> httpx.Response:
        body = {"eventType": event_type, **payload}
        return await self.client.post("/v1/events", json=body, headers=self.headers)

    async def outcome(self, event_type: str, **payload: Any) -> str:
        resp = await self.post(event_type, **payload)
        assert resp.status_code == 200, resp.text
        outcome: str = resp.json()["outcome"]
        return outcome

    async def room(self, oid: str) -> dict[str, Any] | None:
        resp = await self.client.get(f"/v1/rooms/{oid}", headers=self.admin)
        if resp.status_code == 404:
            return None
        assert resp.status_code == 200, resp.text
        room: dict[str, Any] = resp.json()
        return room


@pytest.fixture
def ev(client: httpx.AsyncClient, token: TokenFactory) -> Events:
    return Events(client, token)


def ids() -> tuple[str, str, str]:
    oid, cust, vend = (str(uuid.uuid4()) for _ in range(3))
    return oid, cust, vend


def members(room: dict[str, Any] | None) -> set[tuple[str, str]]:
    assert room is not None
    return {(p["userId"], p["role"]) for p in room["participants"]}


async def test_applied_duplicate_ignored(ev: Events) -> None:
    oid, cust, vend = ids()
    assert await ev.outcome("order.accepted", orderId=oid, customerId=cust, vendorId=vend) == (
        "applied"
    )
    assert await ev.outcome("order.accepted", orderId=oid, customerId=cust, vendorId=vend) == (
        "duplicate"
    )
    assert await ev.outcome("order.created", orderId=oid) == "ignored"
    assert await ev.outcome("payment.captured", anything=[1, 2]) == "ignored"
    room = await ev.room(oid)
    assert members(room) == {(cust, "customer"), (vend, "vendor")}
    assert room is not None and room["readOnly"] is False and room["closedReason"] is None


async def test_full_lifecycle(ev: Events, services: Services) -> None:
    oid, cust, vend = ids()
    rider = str(uuid.uuid4())
    await ev.outcome("order.accepted", orderId=oid, customerId=cust, vendorId=vend)
    assert await ev.outcome("rider.assigned", orderId=oid, riderId=rider) == "applied"
    assert await ev.outcome("order.rider_assigned", orderId=oid, riderId=rider) == "duplicate"
    assert members(await ev.room(oid)) == {(cust, "customer"), (vend, "vendor"), (rider, "rider")}
    delivered_at = "2026-11-24T05:28:52.123Z"
    assert await ev.outcome("order.delivered", orderId=oid, deliveredAt=delivered_at) == "applied"
    assert await ev.outcome("order.delivered", orderId=oid, deliveredAt=delivered_at) == (
        "duplicate"
    )
    room = await ev.room(oid)
    assert room is not None
    assert room["readOnly"] is True and room["closedReason"] == "delivered"
    assert room["closedAt"] is not None and room["closedAt"].endswith("Z")
    # closedAt is when this service applied the close, not the Order service's deliveredAt.
    assert room["closedAt"] != delivered_at
    text = services.metrics.render().decode()
    assert 'orderchat_events_total{outcome="applied",type="order.delivered"} 1.0' in text
    assert 'orderchat_events_total{outcome="duplicate",type="order.delivered"} 1.0' in text


async def test_uuid_case_does_not_matter(ev: Events, client: httpx.AsyncClient) -> None:
    oid, cust, vend = ids()
    await ev.outcome("order.accepted", orderId=oid.upper(), customerId=cust.upper(), vendorId=vend)
    assert await ev.outcome("order.accepted", orderId=oid, customerId=cust, vendorId=vend) == (
        "duplicate"
    )
    assert members(await ev.room(oid)) == {(cust, "customer"), (vend, "vendor")}


async def test_events_before_accepted_take_effect(ev: Events) -> None:
    oid, cust, vend = ids()
    rider = str(uuid.uuid4())
    assert await ev.outcome("order.rider_assigned", orderId=oid, riderId=rider) == "applied"
    room = await ev.room(oid)
    assert room is not None and room["readOnly"] is False
    assert members(room) == {(rider, "rider")}
    await ev.outcome("order.accepted", orderId=oid, customerId=cust, vendorId=vend)
    assert members(await ev.room(oid)) == {
        (cust, "customer"),
        (vend, "vendor"),
        (rider, "rider"),
    }


async def test_cancel_before_accepted_is_final(ev: Events) -> None:
    oid, cust, vend = ids()
    assert await ev.outcome("order.cancelled", orderId=oid, reason="fraud") == "applied"
    await ev.outcome("order.accepted", orderId=oid, customerId=cust, vendorId=vend)
    room = await ev.room(oid)
    assert room is not None and room["readOnly"] is True and room["closedReason"] == "cancelled"
    assert members(room) == {(cust, "customer"), (vend, "vendor")}


async def test_terminal_is_final(ev: Events) -> None:
    oid, cust, vend = ids()
    rider = str(uuid.uuid4())
    await ev.outcome("order.accepted", orderId=oid, customerId=cust, vendorId=vend)
    await ev.outcome("order.delivered", orderId=oid, deliveredAt="2026-11-24T05:28:52Z")
    closed = await ev.room(oid)
    assert await ev.outcome("order.accepted", orderId=oid, customerId=cust, vendorId=vend) == (
        "duplicate"
    )
    await ev.outcome("order.rider_assigned", orderId=oid, riderId=rider)
    assert await ev.outcome("order.cancelled", orderId=oid) == "duplicate"
    room = await ev.room(oid)
    assert room is not None and closed is not None
    assert room["readOnly"] is True and room["closedReason"] == "delivered"
    assert room["closedAt"] == closed["closedAt"]


async def test_unassigned_rider_not_readded(
    ev: Events, client: httpx.AsyncClient, token: TokenFactory
) -> None:
    oid, cust, vend = ids()
    r1, r2 = str(uuid.uuid4()), str(uuid.uuid4())
    await ev.outcome("order.accepted", orderId=oid, customerId=cust, vendorId=vend)
    await ev.outcome("order.rider_assigned", orderId=oid, riderId=r1)
    assert await ev.outcome("order.rider_unassigned", orderId=oid, riderId=r1) == "applied"
    assert await ev.outcome("order.rider_assigned", orderId=oid, riderId=r1) == "duplicate"
    assert await ev.outcome("rider.assigned", orderId=oid, riderId=r1) == "duplicate"
    await ev.outcome("order.rider_assigned", orderId=oid, riderId=r2)
    assert members(await ev.room(oid)) == {(cust, "customer"), (vend, "vendor"), (r2, "rider")}
    # And the unassigned rider has lost access.
    resp = await client.get(f"/v1/rooms/{oid}", headers=auth(token("rider", r1)))
    assert resp.status_code == 403


async def test_unassign_before_assign_keeps_rider_out(ev: Events) -> None:
    oid, cust, vend = ids()
    rider = str(uuid.uuid4())
    await ev.outcome("order.rider_unassigned", orderId=oid, riderId=rider)
    await ev.outcome("order.accepted", orderId=oid, customerId=cust, vendorId=vend)
    await ev.outcome("order.rider_assigned", orderId=oid, riderId=rider)
    assert members(await ev.room(oid)) == {(cust, "customer"), (vend, "vendor")}


INVALID: list[tuple[str, bytes | None, str]] = [
    ("bad json", b'{"eventType": "order.accepted", ', "JSON"),
    ("not json at all", b"hello", "JSON"),
    ("empty body", b"", "JSON"),
    ("array", b'[{"eventType": "order.cancelled"}]', "object"),
    ("string", b'"order.cancelled"', "object"),
    ("null", b"null", "object"),
    ("no eventType", b'{"orderId": "%(oid)s"}', "eventType"),
    ("eventType not a string", b'{"eventType": 7, "orderId": "%(oid)s"}', "eventType"),
    ("missing field", b'{"eventType": "order.accepted", "orderId": "%(oid)s"}', "customerId"),
    ("missing orderId", b'{"eventType": "order.cancelled"}', "orderId"),
    ("bad UUID", b'{"eventType": "order.cancelled", "orderId": "12345"}', "orderId"),
    (
        "bad rider UUID",
        b'{"eventType": "order.rider_assigned", "orderId": "%(oid)s", "riderId": "x"}',
        "riderId",
    ),
    (
        "wrong type",
        b'{"eventType": "order.delivered", "orderId": "%(oid)s", "deliveredAt": [1]}',
        "deliveredAt",
    ),
    (
        "close with bad UUID",
        b'{"eventType": "order.delivered", "orderId": "%(oid)s-x", "deliveredAt": "2026-01-01"}',
        "orderId",
    ),
]


@pytest.mark.parametrize(("name", "body", "reason"), INVALID, ids=[i[0] for i in INVALID])
async def test_invalid_event_400_and_room_unchanged(
    ev: Events, client: httpx.AsyncClient, name: str, body: bytes, reason: str
) -> None:
    oid, cust, vend = ids()
    await ev.outcome("order.accepted", orderId=oid, customerId=cust, vendorId=vend)
    before = await ev.room(oid)
    resp = await client.post(
        "/v1/events",
        content=body % {b"oid": oid.encode()},
        headers={**ev.headers, "Content-Type": "application/json"},
    )
    assert resp.status_code == 400, resp.text
    answer = resp.json()
    assert reason.lower() in answer["reason"].lower(), answer
    assert await ev.room(oid) == before


async def test_invalid_event_counted(ev: Events, services: Services) -> None:
    resp = await ev.post("order.cancelled", orderId="nope")
    assert resp.status_code == 400
    text = services.metrics.render().decode()
    assert 'orderchat_events_total{outcome="invalid",type="order.cancelled"} 1.0' in text


async def test_invalid_event_creates_no_room(ev: Events) -> None:
    oid = str(uuid.uuid4())
    resp = await ev.post("order.accepted", orderId=oid, customerId=str(uuid.uuid4()))
    assert resp.status_code == 400
    assert await ev.room(oid) is None


@pytest.mark.parametrize("role", ["customer", "vendor", "rider", "admin"])
async def test_non_service_token_403(
    client: httpx.AsyncClient, token: TokenFactory, role: str, ev: Events
) -> None:
    oid, cust, vend = ids()
    body = {"eventType": "order.accepted", "orderId": oid, "customerId": cust, "vendorId": vend}
    resp = await client.post("/v1/events", json=body, headers=auth(token(role)))
    assert resp.status_code == 403
    assert await ev.room(oid) is None


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer not-a-token"},
        {"Authorization": "Basic c2VydmljZTpzZWNyZXQ="},
    ],
)
async def test_no_or_bad_token_401(
    client: httpx.AsyncClient, headers: dict[str, str], ev: Events
) -> None:
    oid, cust, vend = ids()
    body = {"eventType": "order.accepted", "orderId": oid, "customerId": cust, "vendorId": vend}
    resp = await client.post("/v1/events", json=body, headers=headers)
    assert resp.status_code == 401
    assert resp.headers.get("www-authenticate") == "Bearer"
    assert await ev.room(oid) is None


async def test_expired_service_token_401(client: httpx.AsyncClient, token: TokenFactory) -> None:
    body = {"eventType": "order.cancelled", "orderId": str(uuid.uuid4())}
    resp = await client.post("/v1/events", json=body, headers=auth(token("service", ttl=-120)))
    assert resp.status_code == 401


async def test_invalid_event_is_logged_with_its_reason(
    ev: Events, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="orderchat.events"):
        resp = await ev.post("order.rider_assigned", orderId=str(uuid.uuid4()), riderId="bob")
    assert resp.status_code == 400
    rejected = [r for r in caplog.records if "rejected" in r.getMessage()]
    assert len(rejected) == 1 and rejected[0].levelno == logging.WARNING
    assert "riderId" in rejected[0].getMessage()
    assert "order.rider_assigned" in rejected[0].getMessage()
