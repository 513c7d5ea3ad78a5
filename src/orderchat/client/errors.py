"""The client's exceptions: one root, ``ClientError``; what ended the connection
(``ChatClosed`` and its kinds) apart from what the server refused (``ChatError`` and its kinds).

    ClientError
    ├── NotConnected          a send or read before ``connect()`` (or ``async with``)
    ├── ChatClosed            the connection ended for good (close code or handshake status)
    │   ├── Unauthorized      HTTP 401 at the handshake, or close 4401 (token expired)
    │   └── Forbidden         HTTP 403 at the handshake, or close 4403 (access revoked)
    └── ChatError             the server answered a frame with ``error`` (its ``code``)
        ├── RoomReadOnly      ROOM_READ_ONLY: the room is closed
        └── SendForbidden     FORBIDDEN: e.g. an admin tried to send
"""

from __future__ import annotations


class ClientError(Exception):
    """Anything `orderchat.client` raises about the chat (not programming errors)."""


class NotConnected(ClientError, RuntimeError):
    """``send()``, ``messages()``, ``next()``... called before ``connect()``: raised at once
    (they would otherwise wait for a connection nobody opens)."""

    def __init__(self) -> None:
        super().__init__("not connected: use `async with` or `connect()`")


class ChatClosed(ClientError):
    """The connection ended for good: ``code`` is the close code (4401, 4403, 1008...) or
    the HTTP status that refused the handshake (400, 401, 403, 429, 503); ``None`` when the
    client itself failed or gave up with no code to show."""

    def __init__(self, code: int | None, reason: str = "") -> None:
        super().__init__(f"closed: {code} {reason}".strip())
        self.code = code
        self.reason = reason
        self.retry_after: int | None = None  # a refused handshake's Retry-After, seconds


class Unauthorized(ChatClosed):
    """The token was refused (HTTP 401) or expired on an open connection (close 4401)."""


class Forbidden(ChatClosed):
    """Not a participant of this room (HTTP 403, also a disallowed Origin), or no longer
    one (close 4403, e.g. the rider was unassigned)."""


class ChatError(ClientError):
    """The server refused a frame: ``code`` is the ``error`` frame's code (SPEC 5.3)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


class RoomReadOnly(ChatError):
    """ROOM_READ_ONLY: the order was delivered or cancelled; the room only reads now."""


class SendForbidden(ChatError):
    """FORBIDDEN: this identity may not do that here (an admin sending, another user's token
    in ``authenticate``)."""


def closed_error(code: int | None, reason: str) -> ChatClosed:
    """The exception for a close code or handshake status."""
    if code in (401, 4401):
        return Unauthorized(code, reason)
    if code in (403, 4403):
        return Forbidden(code, reason)
    return ChatClosed(code, reason)


def frame_error(code: str, message: str) -> ChatError:
    """The exception for an ``error`` frame's code."""
    if code == "ROOM_READ_ONLY":
        return RoomReadOnly(code, message)
    if code == "FORBIDDEN":
        return SendForbidden(code, message)
    return ChatError(code, message)
