"""QA: out-of-range numbers in HTTP queries are client mistakes (400), never a 500.

Both databases store seqs and audit ids as 64-bit integers; a bigger number used to reach
the driver and fail there (OverflowError on SQLite, DataError on PostgreSQL).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from tests.conftest import auth

HUGE = str(2**63)  # one past BIGINT
HUGER = "9" * 30


@pytest.mark.parametrize(
    "query",
    [f"afterSeq={HUGE}", f"beforeSeq={HUGE}", f"afterSeq={HUGER}", f"beforeSeq={HUGER}"],
)
async def test_out_of_range_seq_bounds_are_400(
    client: httpx.AsyncClient, token: Callable[..., str], order: Any, query: str
) -> None:
    ids = await order()
    resp = await client.get(
        f"/v1/rooms/{ids['orderId']}/messages?{query}",
        headers=auth(token("customer", ids["customerId"])),
    )
    assert resp.status_code == 400, resp.text
    assert resp.json()["code"] == "INVALID_REQUEST"
    assert query.split("=")[0] in resp.json()["message"]


async def test_largest_seq_bounds_still_answer(
    client: httpx.AsyncClient, token: Callable[..., str], order: Any
) -> None:
    ids = await order()
    headers = auth(token("customer", ids["customerId"]))
    top = str(2**63 - 1)
    after = await client.get(f"/v1/rooms/{ids['orderId']}/messages?afterSeq={top}", headers=headers)
    assert after.status_code == 200, after.text
    assert after.json() == {"messages": [], "hasMore": False}
    before = await client.get(
        f"/v1/rooms/{ids['orderId']}/messages?beforeSeq={top}", headers=headers
    )
    assert before.status_code == 200, before.text


@pytest.mark.parametrize("cursor", [HUGE, HUGER, "-" + HUGE])
async def test_out_of_range_audit_cursor_is_400(
    client: httpx.AsyncClient, token: Callable[..., str], cursor: str
) -> None:
    resp = await client.get(f"/v1/admin/audit?cursor={cursor}", headers=auth(token("admin")))
    assert resp.status_code == 400, resp.text
    assert "cursor" in resp.json()["message"]


async def test_audit_cursor_round_trip_still_works(
    client: httpx.AsyncClient, token: Callable[..., str], order: Any
) -> None:
    admin = token("admin")
    for _ in range(3):
        ids = await order()
        assert (await client.get(f"/v1/rooms/{ids['orderId']}", headers=auth(admin))).is_success
    first = await client.get("/v1/admin/audit?limit=2", headers=auth(admin))
    assert first.status_code == 200
    cursor = first.json()["nextCursor"]
    assert cursor is not None
    second = await client.get(f"/v1/admin/audit?limit=2&cursor={cursor}", headers=auth(admin))
    assert second.status_code == 200
    assert len(second.json()["entries"]) == 1
    assert uuid.UUID(second.json()["entries"][0]["orderId"])
