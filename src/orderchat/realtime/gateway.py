"""``GET /chat``: admit or deny the upgrade, then run one connection until it closes.

Order of a connection's life: admit (real HTTP status on refusal) → accept → join the
hub's room (and its fan-out channel) → read the room → ``connected`` → backlog after
``lastSeq`` and live frames through the ordered outbox → read client frames until the
socket closes → leave the room. One log line when it opens, one when it closes.
"""

from __future__ import annotations

import contextlib
import logging
from typing import Any

from fastapi import FastAPI
from starlette.requests import HTTPConnection
from starlette.responses import JSONResponse, PlainTextResponse
from starlette.types import ASGIApp, Receive, Scope, Send
from starlette.websockets import WebSocket

from orderchat.realtime.fanout import Fanout, LocalFanout
from orderchat.realtime.handshake import Denied, admit
from orderchat.realtime.hub import Hub
from orderchat.realtime.protocol import error_frame
from orderchat.realtime.session import ExpiryWheel, Session
from orderchat.services import Services

log = logging.getLogger("orderchat.realtime")

CLOSE_FLUSH_SECONDS = 5.0


def install_realtime(app: FastAPI, services: Services) -> Hub:
    """Wire the hub into the services (events, lifecycle hooks) and mount ``/chat``."""
    hub: Hub | None = services.extras.get("hub")
    if hub is None:
        fanout: Fanout = services.extras.get("fanout") or LocalFanout()
        hub = Hub(services.store, services.metrics, services.settings, fanout)
        services.extras["hub"] = hub
        services.events.on_room_changed = hub.room_changed
        services.extras.setdefault("startup", []).append(hub.start)
        services.extras.setdefault("shutdown", []).append(hub.close)
        services.extras.setdefault("before_shutdown", []).append(hub.drain)
        services.extras["expiry_wheel"] = ExpiryWheel()
    app.add_api_websocket_route("/chat", chat)
    # a plain GET (no upgrade) would otherwise be a bare 404: say what is needed instead
    app.add_api_route("/chat", _needs_upgrade, methods=["GET"], include_in_schema=False)
    return hub


async def _needs_upgrade() -> JSONResponse:
    return JSONResponse(
        {"code": "UPGRADE_REQUIRED", "message": "/chat is a WebSocket endpoint (SPEC 5.1)"},
        status_code=426,
        headers={"Upgrade": "websocket", "Connection": "Upgrade"},
    )


class ChatFirst:
    """The served ASGI app: ``/chat`` upgrades go straight to the connection handler,
    everything else (HTTP, lifespan) to the FastAPI app.

    An upgrade routed through FastAPI would keep its whole stack alive for the life of
    the connection: about a dozen middleware and routing coroutine frames, three
    AsyncExitStacks and the dependency machinery, ~10 KiB per idle connection and a
    good part of the handshake's CPU. The FastAPI route (``install_realtime``) stays for
    in-process use (tests, a TestClient); both run the same ``run_chat``.
    """

    def __init__(self, app: ASGIApp, services: Services) -> None:
        self.app = app
        self.services = services

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket" and scope["path"] == "/chat":
            await run_chat(WebSocket(scope, receive, send), self.services)
        else:
            await self.app(scope, receive, send)


async def chat(ws: WebSocket) -> None:
    await run_chat(ws, ws.app.state.services)


async def run_chat(ws: WebSocket, services: Services) -> None:
    hub: Hub = services.extras["hub"]
    metrics = services.metrics
    try:
        # a throwaway view: the headers/query objects it caches die with it
        adm = await admit(HTTPConnection(ws.scope), services, hub)
    except Denied as denied:
        metrics.connections_total.labels(outcome=denied.outcome).inc()
        log.info("ws denied status=%d reason=%s", denied.status, denied.reason)
        response = PlainTextResponse(denied.reason, status_code=denied.status)
        with contextlib.suppress(Exception):  # the client may be gone already
            await ws.send_denial_response(response)
        return
    try:
        await ws.accept(subprotocol=adm.subprotocol)
    except Exception:
        hub.release(adm.order_id, adm.principal.user_id)
        metrics.connections_total.labels(outcome="gone").inc()
        return
    # Nothing reads the upgrade's headers after admission, and the scope lives as long as
    # the connection: let them go (~1 KiB per idle connection).
    ws.scope["headers"] = []
    metrics.connections_total.labels(outcome="accepted").inc()
    metrics.connections_active.inc()

    async def close(code: int, reason: str) -> None:
        await ws.close(code, reason)

    conn = hub.register(adm.order_id, adm.principal, ws.send_text, close)
    session = Session(hub, conn, services.verifier, services.extras["expiry_wheel"])
    log.info(
        "ws open order=%s user=%s role=%s conn=%d",
        adm.order_id,
        adm.principal.user_id,
        adm.principal.role,
        conn.id,
    )
    client_code: Any = None
    try:
        await hub.begin(conn, adm.last_seq)
        while True:
            message = await ws.receive()
            if message["type"] == "websocket.disconnect":
                client_code = message.get("code")
                break
            text = message.get("text")
            if text is None:
                conn.outbox.push(error_frame("INVALID_JSON", "frames must be JSON text frames"))
                continue
            await session.handle(text)
    finally:
        session.stop()
        await hub.unregister(conn)
        await conn.outbox.finish(CLOSE_FLUSH_SECONDS)
        metrics.connections_active.dec()
        closing = conn.outbox.closing
        code = closing.code if closing is not None and closing.code != 1006 else client_code
        log.info(
            "ws close order=%s user=%s role=%s conn=%d code=%s",
            adm.order_id,
            adm.principal.user_id,
            adm.principal.role,
            conn.id,
            code,
        )
