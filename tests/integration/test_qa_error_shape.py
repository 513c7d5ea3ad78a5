"""QA: every HTTP error body has the same shape, ``{code, message}`` (SPEC 6).

Routing errors (unknown path, wrong method) came from the framework as
``{"detail": "..."}``; a client that reads ``code`` everywhere found none.
"""

from __future__ import annotations

import httpx

from tests.conftest import TokenFactory, auth


async def test_routing_errors_have_code_and_message(
    client: httpx.AsyncClient, token: TokenFactory
) -> None:
    missing = await client.get("/v1/nope", headers=auth(token("admin")))
    assert missing.status_code == 404
    assert missing.json() == {"code": "NOT_FOUND", "message": "Not Found"}
    wrong = await client.delete("/v1/events", headers=auth(token("service")))
    assert wrong.status_code == 405
    assert wrong.json() == {"code": "METHOD_NOT_ALLOWED", "message": "Method Not Allowed"}
    assert wrong.headers["allow"] == "POST"
    # the application's own errors keep their shape
    denied = await client.get("/v1/admin/rooms")
    assert denied.status_code == 401
    assert set(denied.json()) == {"code", "message"}
