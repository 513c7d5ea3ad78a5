"""One exception root carrying the SPEC error code; mapped to HTTP/WebSocket only at the edge."""

from __future__ import annotations


class OrderChatError(Exception):
    code = "INTERNAL"

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code


class ConfigError(OrderChatError):
    code = "CONFIG"


class AuthError(OrderChatError):
    """Missing, invalid or expired token (HTTP 401)."""

    code = "UNAUTHORIZED"


class ForbiddenError(OrderChatError):
    """Valid identity, no access (HTTP 403)."""

    code = "FORBIDDEN"


class NotFoundError(OrderChatError):
    code = "NOT_FOUND"


class InvalidEventError(OrderChatError):
    """An order event failed validation; nothing changed."""

    code = "INVALID_EVENT"


class InvalidPayloadError(OrderChatError):
    code = "INVALID_PAYLOAD"


class MessageEmptyError(OrderChatError):
    code = "MESSAGE_EMPTY"


class MessageTooLongError(OrderChatError):
    code = "MESSAGE_TOO_LONG"


class RoomReadOnlyError(OrderChatError):
    code = "ROOM_READ_ONLY"


class UnavailableError(OrderChatError):
    """A dependency (the database) did not answer; retry later."""

    code = "UNAVAILABLE"
