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


def test_ready_docs_and_auth_over_real_http(server: ServerProc, token: TokenFactory) -> None:
    ready = httpx.get(server.url + "/readyz")
    assert ready.status_code == 200 and ready.json()["checks"]["database"] == "ok"
    assert httpx.get(server.url + "/docs").status_code == 200
    assert "/v1/events" in httpx.get(server.url + "/openapi.json").json()["paths"]
    assert "orderchat_events_total" in httpx.get(server.url + "/metrics").text
    oid = str(uuid.uuid4())
    assert httpx.get(f"{server.url}/v1/rooms/{oid}").status_code == 401
    assert (
        httpx.get(f"{server.url}/v1/rooms/{oid}", headers=auth(token("rider"))).status_code == 403
    )
    resp = httpx.get(f"{server.url}/v1/admin/rooms", headers=auth(token("admin")))
    assert resp.status_code == 200 and resp.json()["nextCursor"] is None


def test_tokens_never_logged(server: ServerProc, token: TokenFactory) -> None:
    oid, cust, vend = (str(uuid.uuid4()) for _ in range(3))
    svc = token("service")
    body = {"eventType": "order.accepted", "orderId": oid, "customerId": cust, "vendorId": vend}
    assert httpx.post(server.url + "/v1/events", json=body, headers=auth(svc)).status_code == 200
    cust_tok = token("customer", cust)
    leaked = [svc, cust_tok]
    httpx.get(f"{server.url}/v1/rooms/{oid}", headers=auth(cust_tok))
    # A client wrongly putting a token in the query string: refused, and not logged either.
    for name in ("token", "access_token", "jwt"):
        resp = httpx.get(f"{server.url}/v1/rooms/{oid}", params={name: cust_tok})
        assert resp.status_code == 401
        resp = httpx.get(f"{server.url}/chat", params={"orderId": oid, name: cust_tok})
        assert resp.status_code in (400, 401, 403, 404, 426)
    expired = token("customer", cust, ttl=-100)
    httpx.get(f"{server.url}/v1/rooms/{oid}", headers=auth(expired))
    leaked.append(expired)
    garbage = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJlLXNob3VsZC1ub3QtYXBwZWFy"
    httpx.get(f"{server.url}/v1/rooms/{oid}", headers=auth(garbage))
    leaked.append(garbage)
    # Stop the server so every log line is flushed, then look.
    server.stop()
    logs = server.logs()
    assert "event applied" in logs  # logging works at all
    for tok in leaked:
        for part in tok.split("."):
            assert part not in logs
