"""Helpers for the WebSocket end-to-end tests: rooms via POST /v1/events, raw clients."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import httpx
import orjson
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from orderchat.identity import issue_token
from tests.conftest import TEST_SECRET, auth
from tests.e2e.conftest import ServerProc

TIMEOUT = 15.0


def tok(role: str, sub: str | None = None, ttl: int = 3600) -> str:
    return issue_token(TEST_SECRET, sub=sub or str(uuid.uuid4()), role=role, ttl_seconds=ttl)


@dataclass
class Room:
    order_id: str
    customer: str
    vendor: str

    def customer_token(self, ttl: int = 3600) -> str:
        return tok("customer", self.customer, ttl)

    def vendor_token(self, ttl: int = 3600) -> str:
        return tok("vendor", self.vendor, ttl)


async def post_event(server: ServerProc, event_type: str, **payload: str) -> dict[str, Any]:
    body = {"eventType": event_type, **payload}
    async with httpx.AsyncClient(base_url=server.url, timeout=TIMEOUT) as http:
        resp = await http.post("/v1/events", json=body, headers=auth(tok("service")))
    assert resp.status_code == 200, resp.text
    result: dict[str, Any] = resp.json()
    return result


async def get_json(server: ServerProc, path: str, token: str) -> Any:
    async with httpx.AsyncClient(base_url=server.url, timeout=TIMEOUT) as http:
        resp = await http.get(path, headers=auth(token))
    assert resp.status_code == 200, resp.text
    return resp.json()


async def get_text(server: ServerProc, path: str) -> str:
    async with httpx.AsyncClient(base_url=server.url, timeout=TIMEOUT) as http:
        return (await http.get(path)).text


async def open_room(server: ServerProc) -> Room:
    room = Room(str(uuid.uuid4()), str(uuid.uuid4()), str(uuid.uuid4()))
    await post_event(
        server,
        "order.accepted",
        orderId=room.order_id,
        customerId=room.customer,
        vendorId=room.vendor,
    )
    return room


def chat_url(server: ServerProc, order_id: str, last_seq: int | None = None) -> str:
    url = f"{server.ws_url}/chat?orderId={order_id}"
    return url if last_seq is None else f"{url}&lastSeq={last_seq}"


def ws_connect(
    server: ServerProc,
    order_id: str,
    token: str | None,
    *,
    last_seq: int | None = None,
    subprotocol: bool = False,
    origin: str | None = None,
    url: str | None = None,
) -> connect:
    headers: dict[str, str] = {}
    protocols: list[Any] | None = None
    if token is not None and subprotocol:
        protocols = ["orderchat.v1", f"bearer.{token}"]
    elif token is not None:
        headers["Authorization"] = f"Bearer {token}"
    return connect(
        url or chat_url(server, order_id, last_seq),
        additional_headers=headers,
        subprotocols=protocols,
        origin=origin,  # type: ignore[arg-type]
        proxy=None,
        open_timeout=TIMEOUT,
        max_size=None,
        compression=None,
    )


@asynccontextmanager
async def customer_and_vendor(
    server: ServerProc, room: Room
) -> AsyncIterator[tuple[ClientConnection, ClientConnection]]:
    """The room's customer and vendor connected (each past its ``connected`` frame)."""
    async with (
        ws_connect(server, room.order_id, room.customer_token()) as ws,
        ws_connect(server, room.order_id, room.vendor_token()) as peer,
    ):
        await connected(ws)
        await connected(peer)
        yield ws, peer


async def handshake_status(server: ServerProc, order_id: str, token: str | None, **kw: Any) -> int:
    """The HTTP status the upgrade is answered with (101 when it is accepted)."""
    try:
        async with ws_connect(server, order_id, token, **kw):
            return 101
    except InvalidStatus as err:
        return int(err.response.status_code)


async def recv(ws: ClientConnection, wait: float = TIMEOUT) -> dict[str, Any]:
    raw = await asyncio.wait_for(ws.recv(), wait)
    assert isinstance(raw, str), "frames are JSON text frames"
    frame: dict[str, Any] = orjson.loads(raw)
    assert set(frame) == {"event", "data"}, frame
    return frame


async def recv_event(ws: ClientConnection, event: str, wait: float = TIMEOUT) -> dict[str, Any]:
    """The data of the next frame named ``event``, skipping others (typing, read...)."""
    while True:
        frame = await recv(ws, wait)
        if frame["event"] == event:
            data: dict[str, Any] = frame["data"]
            return data


async def send(ws: ClientConnection, event: str, data: dict[str, Any] | None = None) -> None:
    await ws.send(orjson.dumps({"event": event, "data": data or {}}).decode())


async def connected(ws: ClientConnection) -> dict[str, Any]:
    frame = await recv(ws)
    assert frame["event"] == "connected", frame
    data: dict[str, Any] = frame["data"]
    return data


async def close_code(ws: ClientConnection, wait: float = TIMEOUT) -> int | None:
    """Read until the server closes; the close code it sent."""
    try:
        while True:
            await asyncio.wait_for(ws.recv(), wait)
    except ConnectionClosed as closed:
        return closed.rcvd.code if closed.rcvd is not None else None
