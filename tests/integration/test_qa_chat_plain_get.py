"""QA: a plain HTTP GET of /chat says what is wrong (SPEC 5.1).

Without the upgrade the WebSocket route does not match and the answer was a bare 404,
which reads as "no such endpoint" to someone checking a load balancer's routing.
It is 426 Upgrade Required, naming the protocol.
"""

from __future__ import annotations

import uuid

import httpx


async def test_plain_get_of_chat_is_426(client: httpx.AsyncClient) -> None:
    resp = await client.get(f"/chat?orderId={uuid.uuid4()}")
    assert resp.status_code == 426
    assert resp.headers["upgrade"] == "websocket"
    assert resp.json()["code"] == "UPGRADE_REQUIRED"
    assert "/chat" not in (await client.get("/openapi.json")).json()["paths"]
