"""QA against a real server: a correctly signed token with odd claim types (SPEC 2).

Identity providers often emit roles as a list (``"role": ["customer"]``); such a token, or
one with an absurd ``exp``, is not one this service accepts: 401 on HTTP and on the
upgrade — it used to raise TypeError/OverflowError inside the verifier (HTTP 500, a
traceback in the log).
"""

from __future__ import annotations

import time
import uuid
from typing import Any

import httpx
import jwt
import pytest

from tests.conftest import TEST_SECRET, auth
from tests.e2e.conftest import ServerProc
from tests.e2e.ws_support import TIMEOUT, handshake_status, open_room


def signed(**claims: Any) -> str:
    return jwt.encode(claims, TEST_SECRET, algorithm="HS256")


@pytest.mark.parametrize(
    "overrides",
    [
        {"role": ["customer"]},
        {"role": {"name": "customer"}},
        {"role": True},
        {"exp": 10**400},
        {"exp": float("inf")},
        {"sub": ["x"]},
        {"sub": {"id": 1}},
    ],
    ids=[
        "role-list",
        "role-object",
        "role-bool",
        "exp-huge",
        "exp-infinity",
        "sub-list",
        "sub-object",
    ],
)
async def test_odd_claim_types_are_401_not_500(
    server: ServerProc, overrides: dict[str, Any]
) -> None:
    room = await open_room(server)
    claims: dict[str, Any] = {
        "sub": room.customer,
        "role": "customer",
        "exp": int(time.time()) + 60,
    }
    claims.update(overrides)
    token = signed(**claims)
    assert await handshake_status(server, room.order_id, token) == 401
    async with httpx.AsyncClient(base_url=server.url, timeout=TIMEOUT) as http:
        resp = await http.get(f"/v1/rooms/{room.order_id}", headers=auth(token))
    assert resp.status_code == 401, resp.text
    assert resp.json()["code"] == "UNAUTHORIZED"
    logs = server.logs()
    assert "Traceback" not in logs and " ERROR " not in logs


async def test_the_same_claims_as_strings_work(server: ServerProc) -> None:
    room = await open_room(server)
    token = signed(sub=room.customer.upper(), role="customer", exp=time.time() + 60.5)
    assert await handshake_status(server, room.order_id, token) == 101
    assert await handshake_status(server, str(uuid.uuid4()), token) == 403
