"""QA against a real server: origins compare as the browser sends them (SPEC 1, 5.1).

Browsers send the ``Origin`` scheme and host in lower case; an operator who writes
``ORDERCHAT_ALLOWED_ORIGINS=https://App.Example.com`` means that origin, and must not lock
every browser out with 403.
"""

from __future__ import annotations

from tests.e2e.conftest import StartServer
from tests.e2e.ws_support import handshake_status, open_room


async def test_allowed_origins_are_case_insensitive(start_server: StartServer) -> None:
    server = start_server(allowed_origins="HTTPS://App.Example.com/ , https://admin.example")
    room = await open_room(server)
    cust = room.customer_token()
    for origin in ("https://app.example.com", "https://APP.example.com", "https://admin.example"):
        assert await handshake_status(server, room.order_id, cust, origin=origin) == 101, origin
    for origin in ("http://app.example.com", "https://app.example.com.evil", "null"):
        assert await handshake_status(server, room.order_id, cust, origin=origin) == 403, origin
