"""Admin routes (SPEC 6): room listing with filters and cursor, and the audit of admin reads."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest

from orderchat.services import Services
from tests.conftest import TokenFactory, auth


async def accept(services: Services, cust: str | None = None) -> dict[str, str]:
    ids = {
        "orderId": str(uuid.uuid4()),
        "customerId": cust or str(uuid.uuid4()),
        "vendorId": str(uuid.uuid4()),
    }
    await services.events.handle("order.accepted", ids, source="test")
    return ids


async def close(services: Services, oid: str) -> None:
    await services.events.handle("order.cancelled", {"orderId": oid}, source="test")


async def list_rooms(
    client: httpx.AsyncClient, tok: str, **params: Any
) -> tuple[list[str], str | None]:
    resp = await client.get("/v1/admin/rooms", params=params, headers=auth(tok))
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert set(body) == {"rooms", "nextCursor"}
    return [r["orderId"] for r in body["rooms"]], body["nextCursor"]


async def all_pages(client: httpx.AsyncClient, tok: str, **params: Any) -> list[list[str]]:
    pages: list[list[str]] = []
    cursor: str | None = None
    while True:
        query = dict(params)
        if cursor is not None:
            query["cursor"] = cursor
        ids, cursor = await list_rooms(client, tok, **query)
        pages.append(ids)
        if cursor is None:
            return pages
        assert len(pages) < 50, "cursor paging does not end"


@pytest.mark.parametrize("path", ["/v1/admin/rooms", "/v1/admin/audit"])
async def test_admin_only(client: httpx.AsyncClient, token: TokenFactory, path: str) -> None:
    for role in ("customer", "vendor", "rider", "service"):
        resp = await client.get(path, headers=auth(token(role)))
        assert resp.status_code == 403, (role, resp.text)
    assert (await client.get(path)).status_code == 401
    bad = {"Authorization": "Bearer x.y.z"}
    assert (await client.get(path, headers=bad)).status_code == 401
    assert (await client.get(path, headers=auth(token("admin", ttl=-100)))).status_code == 401
    assert (await client.get(path, headers=auth(token("admin")))).status_code == 200


async def test_list_rooms_filters(
    client: httpx.AsyncClient, token: TokenFactory, services: Services
) -> None:
    shared_customer = str(uuid.uuid4())
    a = await accept(services, shared_customer)
    b = await accept(services, shared_customer)
    c = await accept(services)
    await close(services, b["orderId"])
    rider = str(uuid.uuid4())
    await services.events.handle(
        "order.rider_assigned", {"orderId": c["orderId"], "riderId": rider}, source="test"
    )
    adm = token("admin")
    everything, _ = await list_rooms(client, adm)
    assert set(everything) == {a["orderId"], b["orderId"], c["orderId"]}
    open_ids, _ = await list_rooms(client, adm, state="open")
    assert set(open_ids) == {a["orderId"], c["orderId"]}
    closed_ids, _ = await list_rooms(client, adm, state="readonly")
    assert closed_ids == [b["orderId"]]
    by_user, _ = await list_rooms(client, adm, userId=shared_customer)
    assert set(by_user) == {a["orderId"], b["orderId"]}
    by_user_open, _ = await list_rooms(client, adm, userId=shared_customer, state="open")
    assert by_user_open == [a["orderId"]]
    assert (await list_rooms(client, adm, userId=rider))[0] == [c["orderId"]]
    assert (await list_rooms(client, adm, userId=c["vendorId"].upper()))[0] == [c["orderId"]]
    assert (await list_rooms(client, adm, userId=str(uuid.uuid4())))[0] == []
    resp = await client.get("/v1/admin/rooms", params={"state": "open"}, headers=auth(adm))
    room = next(r for r in resp.json()["rooms"] if r["orderId"] == c["orderId"])
    assert {(p["userId"], p["role"]) for p in room["participants"]} == {
        (c["customerId"], "customer"),
        (c["vendorId"], "vendor"),
        (rider, "rider"),
    }
    assert room["readOnly"] is False and "lastSeq" in room


async def test_cursor_paging_no_duplicates_no_gaps(
    client: httpx.AsyncClient, token: TokenFactory, services: Services
) -> None:
    created = [(await accept(services))["orderId"] for _ in range(11)]
    for oid in created[::3]:
        await close(services, oid)
    adm = token("admin")
    for params, expected in (
        ({}, set(created)),
        ({"state": "readonly"}, set(created[::3])),
        ({"state": "open"}, set(created) - set(created[::3])),
    ):
        for limit in (1, 2, 3, 5):
            pages = await all_pages(client, adm, limit=limit, **params)
            flat = [oid for p in pages for oid in p]
            assert len(flat) == len(set(flat)), "duplicate across pages"
            assert set(flat) == expected, "gap across pages"
            assert all(len(p) == limit for p in pages[:-1]) and 0 < len(pages[-1]) <= limit
    # Newest first.
    newest_first, _ = await list_rooms(client, adm, limit=200)
    assert newest_first[0] == created[-1] and newest_first[-1] == created[0]


async def test_cursor_stable_while_rooms_are_added(
    client: httpx.AsyncClient, token: TokenFactory, services: Services
) -> None:
    created = [(await accept(services))["orderId"] for _ in range(6)]
    adm = token("admin")
    first, cursor = await list_rooms(client, adm, limit=3)
    assert cursor is not None
    await accept(services)  # a newer room does not shift the older pages
    rest, cursor2 = await list_rooms(client, adm, limit=3, cursor=cursor)
    assert cursor2 is None
    assert set(first) | set(rest) == set(created) and not set(first) & set(rest)


@pytest.mark.parametrize(
    "params",
    [
        {"cursor": "garbage!"},
        {"cursor": "AAAA"},
        {"cursor": "WzFd"},  # base64 of [1]
        {"cursor": "eyJhIjoxfQ"},  # base64 of {"a":1}
        {"limit": 0},
        {"limit": 201},
        {"state": "closed"},
        {"userId": "bob"},
    ],
)
async def test_bad_parameters_400(
    client: httpx.AsyncClient, token: TokenFactory, params: dict[str, Any]
) -> None:
    resp = await client.get("/v1/admin/rooms", params=params, headers=auth(token("admin")))
    assert resp.status_code == 400, resp.text
    assert next(iter(params)) in resp.json()["message"]


async def test_every_admin_read_is_audited(
    client: httpx.AsyncClient, token: TokenFactory, services: Services
) -> None:
    room = await accept(services)
    oid = room["orderId"]
    admin_id = str(uuid.uuid4())
    adm = token("admin", admin_id)
    other_admin = token("admin")
    # Participant reads are not audited.
    await client.get(f"/v1/rooms/{oid}", headers=auth(token("customer", room["customerId"])))
    assert (await client.get(f"/v1/rooms/{oid}", headers=auth(adm))).status_code == 200
    resp = await client.get(f"/v1/rooms/{oid}/messages", headers=auth(adm))
    assert resp.status_code == 200
    assert (await client.get("/v1/admin/rooms", headers=auth(adm))).status_code == 200
    missing = str(uuid.uuid4())
    assert (await client.get(f"/v1/rooms/{missing}", headers=auth(other_admin))).status_code == 404

    resp = await client.get("/v1/admin/audit", headers=auth(adm))
    assert resp.status_code == 200
    body = resp.json()
    entries = body["entries"]
    assert body["nextCursor"] is None
    got = [(e["adminId"], e["action"], e["orderId"]) for e in entries]
    assert got == [
        (got[0][0], "read_room", missing),
        (admin_id, "list_rooms", None),
        (admin_id, "read_messages", oid),
        (admin_id, "read_room", oid),
    ]
    assert got[0][0] != admin_id
    for e in entries:
        assert e["at"].endswith("Z")
    # Filter by room.
    resp = await client.get("/v1/admin/audit", params={"orderId": oid}, headers=auth(adm))
    assert [e["action"] for e in resp.json()["entries"]] == ["read_messages", "read_room"]


async def test_audit_paging(
    client: httpx.AsyncClient, token: TokenFactory, services: Services
) -> None:
    room = await accept(services)
    adm = token("admin")
    for _ in range(7):
        await client.get(f"/v1/rooms/{room['orderId']}", headers=auth(adm))
    seen: list[int] = []
    cursor: str | None = None
    while True:
        params: dict[str, Any] = {"limit": 3}
        if cursor:
            params["cursor"] = cursor
        resp = await client.get("/v1/admin/audit", params=params, headers=auth(adm))
        assert resp.status_code == 200, resp.text
        body = resp.json()
        seen += [e["id"] for e in body["entries"]]
        cursor = body["nextCursor"]
        if cursor is None:
            break
    assert len(seen) == 7 and len(set(seen)) == 7 and seen == sorted(seen, reverse=True)
    for params in ({"cursor": "abc"}, {"limit": 0}, {"limit": 201}):
        resp = await client.get("/v1/admin/audit", params=params, headers=auth(adm))
        assert resp.status_code == 400, (params, resp.text)
