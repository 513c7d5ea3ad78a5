"""One accepted connection's client frames (SPEC 5.2, 5.3, 5.5): what each one does.

A bad frame is answered with an ``error`` frame and never closes the connection. Frames
are handled one at a time, so a connection has at most one send in flight (its ack and
its next send keep their order).
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
import uuid
from typing import Protocol

from orderchat.domain.messages import utcnow_ms, validate_client_message_id, validate_content
from orderchat.errors import (
    AuthError,
    ForbiddenError,
    NotFoundError,
    OrderChatError,
)
from orderchat.identity import TokenVerifier
from orderchat.realtime.hub import Hub
from orderchat.realtime.local import Connection
from orderchat.realtime.protocol import (
    ClientFrame,
    ProtocolError,
    encode,
    error_frame,
    int_field,
    parse_frame,
    str_field,
)
from orderchat.realtime.ratelimit import TokenBucket

log = logging.getLogger("orderchat.realtime")

TYPING_INTERVAL_SECONDS = 0.5


class Expiring(Protocol):
    def expired(self) -> None: ...


class ExpiryWheel:
    """Closes each session whose token expires, with one timer per distinct second of
    expiry instead of one per connection (a TimerHandle with its arguments is ~0.6 KiB
    per idle connection; tokens issued together share a second). JWT ``exp`` is whole
    seconds, so rounding up to the second closes on time."""

    def __init__(self) -> None:
        self._slots: dict[int, set[Expiring]] = {}

    def add(self, session: Expiring, expires_at: float) -> int:
        second = math.ceil(expires_at)
        slot = self._slots.get(second)
        if slot is None:
            slot = self._slots[second] = set()
            loop = asyncio.get_running_loop()
            loop.call_later(max(0.0, second - time.time()), self._fire, second)
        slot.add(session)
        return second

    def discard(self, session: Expiring, second: int) -> None:
        slot = self._slots.get(second)
        if slot is not None:
            slot.discard(session)

    def _fire(self, second: int) -> None:
        for session in self._slots.pop(second, ()):
            session.expired()


class Session:
    __slots__ = ("_expiry", "_last_typing", "_reads", "_wheel", "conn", "hub", "verifier")

    def __init__(
        self, hub: Hub, conn: Connection, verifier: TokenVerifier, wheel: ExpiryWheel
    ) -> None:
        self.hub = hub
        self.conn = conn
        self.verifier = verifier
        self._wheel = wheel
        self._expiry: int | None = None
        self.arm_expiry(conn.principal.expires_at)
        self._last_typing = float("-inf")
        settings = hub.settings
        self._reads = TokenBucket(settings.rate_per_second, settings.rate_burst)

    def arm_expiry(self, expires_at: float) -> None:
        """Close with 4401 when the token expires (unless ``authenticate`` moves it)."""
        self.stop()
        self._expiry = self._wheel.add(self, expires_at)

    def expired(self) -> None:
        self._expiry = None
        self.conn.outbox.close(4401, "token expired")

    def stop(self) -> None:
        if self._expiry is not None:
            self._wheel.discard(self, self._expiry)
            self._expiry = None

    def _error(self, code: str, message: str, cmid: str | None = None) -> None:
        self.conn.outbox.push(error_frame(code, message, cmid))

    async def handle(self, text: str | bytes) -> None:
        try:
            frame = parse_frame(text)
        except ProtocolError as err:
            self._error(err.code, err.message)
            return
        cmid = frame.client_message_id
        try:
            if frame.event == "sendMessage":
                await self._send(frame)
            elif frame.event == "ping":
                self.conn.outbox.push(encode("pong", {}))
            elif frame.event == "typing":
                self._typing()
            elif frame.event == "markRead":
                await self._mark_read(frame)
            elif frame.event == "authenticate":
                await self._authenticate(frame)
        except ProtocolError as err:
            self._count(frame, err.code)
            self._error(err.code, err.message, cmid)
        except NotFoundError as err:
            self._count(frame, "FORBIDDEN")
            self._error("FORBIDDEN", err.message, cmid)
        except OrderChatError as err:
            self._count(frame, err.code)
            self._error(err.code, err.message, cmid)
            if self.conn.revoked:  # the store refused a sender who left (SPEC 5.3)
                self.conn.outbox.close(4403, "access revoked")
        except Exception:
            # A bug or an unexpected store failure: the frame fails, the connection stays.
            # For a send, retrying with the same clientMessageId is safe (idempotent).
            log.exception("frame %s failed order=%s", frame.event, self.conn.order_id)
            self._count(frame, "UNAVAILABLE")
            self._error("UNAVAILABLE", "internal error; retry", cmid)

    def _count(self, frame: ClientFrame, code: str) -> None:
        if frame.event == "sendMessage":
            self.hub.metrics.messages_total.labels(outcome=code.lower()).inc()

    async def _send(self, frame: ClientFrame) -> None:
        if self.conn.principal.is_admin:
            raise ForbiddenError("admins cannot send")
        content = validate_content(frame.data.get("message"), self.hub.settings.max_message_chars)
        cmid = validate_client_message_id(frame.data.get("clientMessageId"))
        if not self.hub.allow_send(self.conn):
            raise ProtocolError("RATE_LIMITED", "too many messages; slow down")
        _msg, duplicate = await self.hub.send(self.conn, content, cmid)
        self.hub.metrics.messages_total.labels(outcome="duplicate" if duplicate else "stored").inc()

    def _typing(self) -> None:
        if self.conn.principal.is_admin:
            raise ForbiddenError("admins are read-only")
        if self.hub.room_of(self.conn).closed:
            raise ProtocolError("ROOM_READ_ONLY", "the room is read-only")
        now = time.monotonic()
        if now - self._last_typing < TYPING_INTERVAL_SECONDS:
            return  # ephemeral: repeats within the interval add nothing for the others
        self._last_typing = now
        self.hub.broadcast(self.conn, "typing", {"userId": self.conn.user_id})

    async def _mark_read(self, frame: ClientFrame) -> None:
        if self.conn.principal.is_admin:
            raise ForbiddenError("admins are read-only")
        seq = int_field(frame.data, "seq")
        if not self._reads.take():
            raise ProtocolError("RATE_LIMITED", "too many markRead; slow down")
        # never beyond what this connection has delivered (a client cannot have read more)
        seq = min(seq, self.conn.outbox.last or 0)
        stored = await self.hub.store.messages.mark_read(
            self.conn.order_id, uuid.UUID(self.conn.user_id), seq, utcnow_ms()
        )
        self.hub.broadcast(self.conn, "read", {"userId": self.conn.user_id, "seq": stored})

    async def _authenticate(self, frame: ClientFrame) -> None:
        token = str_field(frame.data, "token")
        try:
            principal = await self.verifier.verify(token)
        except AuthError as err:
            raise ProtocolError("INVALID_PAYLOAD", f"token rejected: {err.message}") from None
        current = self.conn.principal
        if principal.user_id != current.user_id or principal.role != current.role:
            raise ForbiddenError("the token is for another identity")
        if principal.expires_at <= time.time():
            raise ProtocolError("INVALID_PAYLOAD", "token rejected: token expired")
        self.conn.principal = principal
        self.arm_expiry(principal.expires_at)
