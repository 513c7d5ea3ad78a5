"""End-to-end through HTTP against a started `orderchat serve`."""

from __future__ import annotations

import uuid

import httpx

from tests.conftest import TokenFactory, auth
from tests.e2e.conftest import ServerProc


def test_publish_then_read_room(server: ServerProc, token: TokenFactory) -> None:
    oid, cust, vend = (str(uuid.uuid4()) for _ in range(3))
    svc = token("service")
    body = {"eventType": "order.accepted", "orderId": oid, "customerId": cust, "vendorId": vend}
    resp = httpx.post(server.url + "/v1/events", json=body, headers=auth(svc))
    assert resp.json() == {"outcome": "applied"}
    resp = httpx.post(server.url + "/v1/events", json=body, headers=auth(svc))
    assert resp.json() == {"outcome": "duplicate"}
    room = httpx.get(f"{server.url}/v1/rooms/{oid}", headers=auth(token("vendor", vend))).json()
    assert room["orderId"] == oid and room["readOnly"] is False
