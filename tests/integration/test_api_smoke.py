"""A first walk through the REST API on both databases."""

from __future__ import annotations

import uuid
from datetime import datetime

import httpx

from orderchat.domain.messages import utcnow_ms
from orderchat.services import Services
from tests.conftest import TokenFactory, auth


async def test_room_lifecycle_and_history(
    client: httpx.AsyncClient, services: Services, token: TokenFactory, order: object
) -> None:
    o = await order()  # type: ignore[operator]
    oid = uuid.UUID(o["orderId"])
    cust = token("customer", o["customerId"])
    resp = await client.get(f"/v1/rooms/{oid}", headers=auth(cust))
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["readOnly"] is False and body["lastSeq"] == 0
    assert {p["role"] for p in body["participants"]} == {"customer", "vendor"}

    for i in range(5):
        await services.store.messages.append(
            order_id=oid,
            sender_id=uuid.UUID(o["customerId"]),
            sender_role="customer",
            content=f"hello {i}",
            client_message_id=None,
            now=utcnow_ms(),
        )
    resp = await client.get(f"/v1/rooms/{oid}/messages?limit=2", headers=auth(cust))
    page = resp.json()
    assert [m["seq"] for m in page["messages"]] == [4, 5] and page["hasMore"] is True
    resp = await client.get(f"/v1/rooms/{oid}/messages?afterSeq=3&limit=5", headers=auth(cust))
    assert [m["seq"] for m in resp.json()["messages"]] == [4, 5]
    assert resp.json()["hasMore"] is False
    ts = resp.json()["messages"][0]["timestamp"]
    assert ts.endswith("Z") and len(ts) == len("2026-11-24T05:28:52.123Z")
    datetime.fromisoformat(ts)

    outsider = token("customer")
    assert (await client.get(f"/v1/rooms/{oid}", headers=auth(outsider))).status_code == 403
    assert (await client.get(f"/v1/rooms/{oid}")).status_code == 401
