"""QA: the probe endpoints answer HEAD like GET, without a body (SPEC 6; RFC 9110 9.3.2).

Uptime monitors and some load balancers probe with HEAD; a 405 reads as "down".
"""

from __future__ import annotations

import httpx


async def test_head_healthz_and_readyz(client: httpx.AsyncClient) -> None:
    for path in ("/healthz", "/readyz"):
        get = await client.get(path)
        head = await client.head(path)
        assert head.status_code == get.status_code == 200, (path, head.status_code)
        assert head.content == b""
    # not listed twice in the OpenAPI document
    paths = (await client.get("/openapi.json")).json()["paths"]
    assert set(paths["/healthz"]) == {"get"} and set(paths["/readyz"]) == {"get"}
