"""``GET /chat``: a connection's life, from the upgrade to the close.

Order: admit (a real HTTP status on refusal) → accept → join the hub's room (and its
fan-out channel) → read the room → ``connected`` → backlog after ``lastSeq`` and live
frames through the ordered outbox → client frames, one at a time, until the socket
closes → leave the room. One log line when it opens, one when it closes.

The socket side (HTTP upgrade bytes, WebSocket frames, keepalive, flow control) is
``realtime/wire.py``; this module is what the service does with a connection.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI
from starlette.requests import HTTPConnection
from starlette.responses import JSONResponse

from orderchat.errors import UnavailableError
from orderchat.realtime.fanout import Fanout, LocalFanout
from orderchat.realtime.handshake import Admission, Denied, admit, check_room
from orderchat.realtime.hub import Hub
from orderchat.realtime.local import Connection
from orderchat.realtime.outbox import Wire
from orderchat.realtime.session import ExpiryWheel, Session
from orderchat.services import Services
from orderchat.store.rooms import RoomView

log = logging.getLogger("orderchat.realtime")


def install_realtime(app: FastAPI, services: Services) -> Hub:
    """Wire the hub into the services (events, lifecycle hooks); the WebSocket upgrades
    of ``/chat`` are served by ``realtime/wire.py`` under uvicorn (``server.py``)."""
    hub: Hub | None = services.extras.get("hub")
    if hub is None:
        fanout: Fanout = services.extras.get("fanout") or LocalFanout()
        hub = Hub(services.store, services.metrics, services.settings, fanout)
        services.extras["hub"] = hub
        services.events.on_room_changed = hub.room_changed
        services.extras.setdefault("startup", []).append(hub.start)
        services.extras.setdefault("shutdown", []).append(hub.close)
        services.extras.setdefault("before_shutdown", []).append(hub.drain)
        services.extras["gateway"] = Gateway(services, hub)
    # a plain GET (no upgrade) would otherwise be a bare 404: say what is needed instead
    app.add_api_route("/chat", _needs_upgrade, methods=["GET"], include_in_schema=False)
    return hub


async def _needs_upgrade() -> JSONResponse:
    return JSONResponse(
        {"code": "UPGRADE_REQUIRED", "message": "/chat is a WebSocket endpoint (SPEC 5.1)"},
        status_code=426,
        headers={"Upgrade": "websocket", "Connection": "Upgrade"},
    )


class Gateway:
    """What the service does with one ``/chat`` connection; one per process."""

    def __init__(self, services: Services, hub: Hub) -> None:
        self.services = services
        self.hub = hub
        self.metrics = services.metrics
        self.wheel = ExpiryWheel()

    async def admit(self, scope: dict[str, Any]) -> Admission:
        """Check the upgrade (raises ``Denied``); the user then holds a connection slot."""
        return await admit(HTTPConnection(scope), self.services, self.hub)

    def denied(self, denied: Denied) -> None:
        """The upgrade is refused with ``denied.status``: count it, log it."""
        self.metrics.connections_total.labels(outcome=denied.outcome).inc()
        log.info("ws denied status=%d reason=%s", denied.status, denied.reason)

    def join(self, adm: Admission, wire: Wire) -> Connection:
        """Join the room's local deliveries (held until ``open`` starts the stream)."""
        return self.hub.register(adm.order_id, adm.principal, wire)

    async def attach(self, conn: Connection, adm: Admission) -> RoomView:
        """Read the room once, after joining it: 403 unless the user may read it."""
        try:
            try:
                view = await self.hub.attach(conn)
            except UnavailableError:
                raise Denied(503, "unavailable", "database unavailable") from None
            if self.hub.draining:
                raise Denied(503, "unavailable", "server shutting down")
            await check_room(view, adm, self.services)
        except Denied:
            self.hub.forget(conn)  # leaves the room and frees the connection slot
            raise
        assert view is not None
        return view

    def gone(self, conn: Connection) -> None:
        """Admitted, but the client left before the upgrade was answered."""
        conn.outbox.lost()
        self.hub.forget(conn)
        self.metrics.connections_total.labels(outcome="gone").inc()

    def open(self, conn: Connection, view: RoomView, adm: Admission) -> Session:
        """The 101 went out: ``connected``, then the stream."""
        self.metrics.connections_total.labels(outcome="accepted").inc()
        self.metrics.connections_active.inc()
        session = Session(self.hub, conn, self.services.verifier, self.wheel)
        log.info(
            "ws open order=%s user=%s role=%s conn=%d",
            adm.order_id,
            adm.principal.user_id,
            adm.principal.role,
            conn.id,
        )
        self.hub.stream(conn, view, adm.last_seq)
        return session

    def closed(self, conn: Connection, session: Session, client_code: int | None) -> None:
        """The socket is gone: leave the room, count it, log it."""
        session.stop()
        conn.outbox.lost()
        self.hub.forget(conn)
        self.metrics.connections_active.dec()
        closing = conn.outbox.closing
        code = closing.code if closing is not None and closing.code != 1006 else client_code
        log.info(
            "ws close order=%s user=%s role=%s conn=%d code=%s",
            conn.order_id,
            conn.user_id,
            conn.role,
            conn.id,
            code,
        )
