"""QA: order events at the edges of SPEC 4 (through POST /v1/events, on both databases).

A second ``order.accepted`` naming other parties is not a duplicate: it cannot be applied
(the first one fixed who may read the room) and it must not vanish as "duplicate" either
— "nothing is silently dropped". It is an invalid event: 400 with a reason, a log line,
the ``invalid`` metric (and from SQS, the dead-letter queue). The room keeps its parties.
"""

from __future__ import annotations

import logging
import uuid
from typing import Any

import httpx
import pytest

from orderchat.services import Services
from tests.conftest import TokenFactory, auth


async def post(client: httpx.AsyncClient, token: TokenFactory, **body: Any) -> httpx.Response:
    return await client.post("/v1/events", json=body, headers=auth(token("service")))


async def test_conflicting_accepted_is_reported_not_swallowed(
    client: httpx.AsyncClient,
    token: TokenFactory,
    services: Services,
    caplog: pytest.LogCaptureFixture,
) -> None:
    oid, cust, vend, other = (str(uuid.uuid4()) for _ in range(4))
    first = await post(
        client, token, eventType="order.accepted", orderId=oid, customerId=cust, vendorId=vend
    )
    assert first.json() == {"outcome": "applied"}
    # the same parties again (any case): a duplicate
    again = await post(
        client,
        token,
        eventType="order.accepted",
        orderId=oid.upper(),
        customerId=cust.upper(),
        vendorId=vend,
    )
    assert again.json() == {"outcome": "duplicate"}
    with caplog.at_level(logging.WARNING, logger="orderchat.events"):
        for c, v in ((cust, other), (other, vend)):
            resp = await post(
                client, token, eventType="order.accepted", orderId=oid, customerId=c, vendorId=v
            )
            assert resp.status_code == 400, resp.text
            assert "conflict" in resp.json()["reason"]
    assert sum("event rejected" in r.getMessage() for r in caplog.records) == 2
    text = services.metrics.render().decode()
    assert 'orderchat_events_total{outcome="invalid",type="order.accepted"} 2.0' in text
    room = await client.get(f"/v1/rooms/{oid}", headers=auth(token("admin")))
    assert {(p["userId"], p["role"]) for p in room.json()["participants"]} == {
        (cust, "customer"),
        (vend, "vendor"),
    }
    # the would-be parties cannot read the room
    for role in ("customer", "vendor"):
        denied = await client.get(f"/v1/rooms/{oid}", headers=auth(token(role, other)))
        assert denied.status_code == 403


async def test_conflicting_accepted_after_close_is_reported_too(
    client: httpx.AsyncClient, token: TokenFactory
) -> None:
    oid, cust, vend = (str(uuid.uuid4()) for _ in range(3))
    await post(client, token, eventType="order.cancelled", orderId=oid)
    ok = await post(
        client, token, eventType="order.accepted", orderId=oid, customerId=cust, vendorId=vend
    )
    assert ok.json() == {"outcome": "applied"}  # parties of a room closed before accepted
    bad = await post(
        client,
        token,
        eventType="order.accepted",
        orderId=oid,
        customerId=cust,
        vendorId=str(uuid.uuid4()),
    )
    assert bad.status_code == 400


async def test_rider_may_also_be_the_customer(
    client: httpx.AsyncClient, token: TokenFactory
) -> None:
    """Nothing forbids it (a staff member ordering and delivering): two roles, two rights."""
    oid, cust, vend = (str(uuid.uuid4()) for _ in range(3))
    await post(
        client, token, eventType="order.accepted", orderId=oid, customerId=cust, vendorId=vend
    )
    assigned = await post(
        client, token, eventType="order.rider_assigned", orderId=oid, riderId=cust
    )
    assert assigned.json() == {"outcome": "applied"}
    unassigned = await post(
        client, token, eventType="order.rider_unassigned", orderId=oid, riderId=cust
    )
    assert unassigned.json() == {"outcome": "applied"}
    # unassigned as rider, still the customer
    assert (await client.get(f"/v1/rooms/{oid}", headers=auth(token("customer", cust)))).is_success
    rider = await client.get(f"/v1/rooms/{oid}", headers=auth(token("rider", cust)))
    assert rider.status_code == 403
