"""``GET /chat``: admit or deny the upgrade, then run one connection until it closes.

Order of a connection's life: admit (real HTTP status on refusal) → accept → join the
hub's room (and its fan-out channel) → read the room → ``connected`` → backlog after
``lastSeq`` and live frames through the ordered outbox → read client frames until the
socket closes → leave the room. One log line when it opens, one when it closes.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI
from starlette.responses import PlainTextResponse
from starlette.websockets import WebSocket

from orderchat.errors import UnavailableError
from orderchat.realtime.fanout import Fanout, LocalFanout
from orderchat.realtime.handshake import Admission, Denied, admit
from orderchat.realtime.hub import Connection, Hub
from orderchat.realtime.protocol import encode, error_frame
from orderchat.realtime.session import Session
from orderchat.services import Services
from orderchat.store.rooms import participants_wire

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
    app.add_api_websocket_route("/chat", chat)
    return hub


async def chat(ws: WebSocket) -> None:
    services: Services = ws.app.state.services
    hub: Hub = services.extras["hub"]
    metrics = services.metrics
    try:
        adm = await admit(ws, services, hub)
    except Denied as denied:
        metrics.connections_total.labels(outcome=denied.outcome).inc()
        log.info("ws denied status=%d reason=%s", denied.status, denied.reason)
        response = PlainTextResponse(denied.reason, status_code=denied.status)
        await ws.send_denial_response(response)
        return
    try:
        await ws.accept(subprotocol=adm.subprotocol)
    except Exception:
        hub.release(adm.order_id, adm.principal.user_id)
        metrics.connections_total.labels(outcome="gone").inc()
        return
    metrics.connections_total.labels(outcome="accepted").inc()
    metrics.connections_active.inc()

    async def close(code: int, reason: str) -> None:
        await ws.close(code, reason)

    conn = await hub.register(adm.order_id, adm.principal, ws.send_text, close)
    session = Session(hub, conn, services.verifier)
    log.info(
        "ws open order=%s user=%s role=%s conn=%d",
        adm.order_id,
        adm.principal.user_id,
        adm.principal.role,
        conn.id,
    )
    client_code: Any = None
    try:
        await _start(hub, conn, adm)
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


async def _start(hub: Hub, conn: Connection, adm: Admission) -> None:
    """``connected`` first; its ``lastSeq`` is the starting point of the message stream."""
    try:
        view = await hub.store.rooms.get(adm.order_id)
    except UnavailableError:
        view = None
    if view is None:
        conn.outbox.close(1011, "database unavailable")
        return
    room = hub.room_of(conn)
    room.closed = room.closed or view.read_only
    start = view.last_seq if adm.last_seq is None else min(adm.last_seq, view.last_seq)
    connected = {
        "orderId": str(view.order_id),
        "readOnly": room.closed,
        "closedReason": view.closed_reason,
        "participants": participants_wire(view.participants),
        "you": {"userId": conn.user_id, "role": conn.role},
        "lastSeq": start,
    }
    conn.outbox.start(encode("connected", connected), start, view.last_seq)
