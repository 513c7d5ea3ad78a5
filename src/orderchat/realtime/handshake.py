"""The WebSocket upgrade (SPEC 5.1): who may connect, answered with a real HTTP status.

Checks, in order: ``orderId``/``lastSeq`` (400), the token (401), the browser ``Origin``
(403), the role (403), the user's connection slots (429), then the room (403). The token comes
from ``Authorization: Bearer`` or the subprotocol pair ``orderchat.v1, bearer.<jwt>``,
never from the query string.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from urllib.parse import urlsplit

from starlette.requests import HTTPConnection

from orderchat.domain.access import can_read
from orderchat.domain.messages import utcnow_ms
from orderchat.errors import AuthError, UnavailableError
from orderchat.identity import Principal, bearer_token
from orderchat.realtime.hub import Hub
from orderchat.services import Services
from orderchat.store.rooms import RoomView

SUBPROTOCOL = "orderchat.v1"
BEARER_PREFIX = "bearer."
MAX_LAST_SEQ_DIGITS = 18


class Denied(Exception):
    def __init__(self, status: int, outcome: str, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.outcome = outcome
        self.reason = reason


@dataclass(frozen=True, slots=True)
class Admission:
    order_id: uuid.UUID
    last_seq: int | None
    principal: Principal
    subprotocol: str | None


def _query(ws: HTTPConnection) -> tuple[uuid.UUID, int | None]:
    # a repeated parameter is ambiguous (which room did the client mean?): refuse it
    for name in ("orderId", "lastSeq"):
        if len(ws.query_params.getlist(name)) > 1:
            raise Denied(400, "bad_request", f"{name}: given more than once")
    raw_order = ws.query_params.get("orderId")
    try:
        order_id = uuid.UUID(raw_order or "")
    except ValueError:
        raise Denied(400, "bad_request", "orderId: missing or not a UUID") from None
    raw_seq = ws.query_params.get("lastSeq")
    if raw_seq is None:
        return order_id, None
    if not raw_seq.isascii() or not raw_seq.isdigit() or len(raw_seq) > MAX_LAST_SEQ_DIGITS:
        raise Denied(400, "bad_request", "lastSeq: not a non-negative integer")
    return order_id, int(raw_seq)


def _token(ws: HTTPConnection) -> str | None:
    if len(ws.headers.getlist("authorization")) > 1:
        # ambiguous: a proxy may have checked the other one
        raise Denied(401, "unauthorized", "more than one Authorization header")
    token = bearer_token(ws.headers.get("authorization"))
    if token is not None:
        return token
    for proto in ws.scope.get("subprotocols", []):
        if proto.startswith(BEARER_PREFIX) and len(proto) > len(BEARER_PREFIX):
            return str(proto[len(BEARER_PREFIX) :])
    return None


def _default_port(scheme: str) -> int | None:
    return {"http": 80, "ws": 80, "https": 443, "wss": 443}.get(scheme)


def origin_allowed(origin: str | None, host: str | None, allowed: frozenset[str] | None) -> bool:
    """No Origin: a native client. Else the configured list, or by default the same host."""
    if origin is None:
        return True
    origin = origin.strip().rstrip("/")
    if allowed is not None:
        # scheme and host are case-insensitive; browsers send them in lower case
        return origin.lower() in {a.lower() for a in allowed}
    if not host:
        return False
    try:
        parts = urlsplit(origin)
        o_host, o_port = parts.hostname, parts.port or _default_port(parts.scheme)
        h = urlsplit("//" + host.strip())
        h_host, h_port = h.hostname, h.port or _default_port(parts.scheme)
    except ValueError:
        return False
    return o_host is not None and o_host == h_host and o_port == h_port


async def admit(ws: HTTPConnection, services: Services, hub: Hub) -> Admission:
    """Check the upgrade up to the room; on success the user holds one connection slot
    (``hub.limits.release``). The room itself is read once, by ``check_room``, after the
    connection has joined the room's deliveries (``gateway.py``)."""
    if hub.draining:
        raise Denied(503, "unavailable", "server shutting down")
    order_id, last_seq = _query(ws)
    token = _token(ws)
    if token is None:
        raise Denied(401, "unauthorized", "missing token")
    try:
        principal = await services.verifier.verify(token)
    except AuthError as err:
        raise Denied(401, "unauthorized", err.message) from None
    if principal.expires_at <= time.time():
        raise Denied(401, "unauthorized", "token expired")
    if not origin_allowed(
        ws.headers.get("origin"), ws.headers.get("host"), services.settings.origins
    ):
        raise Denied(403, "forbidden", "origin not allowed")
    if principal.role == "service":
        raise Denied(403, "forbidden", "service tokens may only post events")
    if not hub.limits.reserve(order_id, principal.user_id):
        raise Denied(429, "too_many", "too many connections to this room")
    offered = ws.scope.get("subprotocols", [])
    subprotocol = SUBPROTOCOL if SUBPROTOCOL in offered else None
    return Admission(order_id, last_seq, principal, subprotocol)


async def check_room(room: RoomView | None, adm: Admission, services: Services) -> None:
    """The room part of the upgrade: 403 unless the user may read it (admins: audited)."""
    principal = adm.principal
    if room is None or not can_read(principal, room):
        raise Denied(403, "forbidden", "not a participant of this room")
    if principal.is_admin:
        try:
            await services.store.audit.record(
                uuid.UUID(principal.user_id), "live_view", adm.order_id, utcnow_ms()
            )
        except UnavailableError:
            raise Denied(503, "unavailable", "database unavailable") from None
