"""The WebSocket frames of SPEC 5.2: parse what clients send, encode what the server sends.

Every frame is one JSON text frame ``{"event": name, "data": {...}}``. Parsing never
raises anything but ProtocolError, which carries the SPEC 5.3 error code to answer with.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson

from orderchat.domain.messages import MAX_CLIENT_MESSAGE_ID

CLIENT_EVENTS = frozenset({"sendMessage", "markRead", "typing", "ping", "authenticate"})


class ProtocolError(Exception):
    def __init__(self, code: str, message: str, client_message_id: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.client_message_id = client_message_id


@dataclass(frozen=True, slots=True)
class ClientFrame:
    event: str
    data: dict[str, Any]

    @property
    def client_message_id(self) -> str | None:
        """The frame's clientMessageId when it is a usable one (to echo in an error)."""
        value = self.data.get("clientMessageId")
        if isinstance(value, str) and 0 < len(value) <= MAX_CLIENT_MESSAGE_ID:
            return value
        return None


def parse_frame(text: str | bytes) -> ClientFrame:
    """One client frame; ProtocolError(INVALID_JSON | UNKNOWN_EVENT) when it is not one."""
    try:
        value = orjson.loads(text)
    except orjson.JSONDecodeError:
        raise ProtocolError("INVALID_JSON", "the frame is not valid JSON") from None
    if not isinstance(value, dict):
        raise ProtocolError("INVALID_JSON", "the frame is not a JSON object")
    event = value.get("event")
    if not isinstance(event, str):
        raise ProtocolError("INVALID_JSON", 'the frame has no "event" string')
    data = value.get("data", {})
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ProtocolError("INVALID_JSON", '"data" is not a JSON object')
    if event not in CLIENT_EVENTS:
        raise ProtocolError("UNKNOWN_EVENT", "unknown event")
    return ClientFrame(event, data)


def int_field(data: dict[str, Any], name: str) -> int:
    value = data.get(name)
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ProtocolError("INVALID_PAYLOAD", f"{name} must be a non-negative integer")
    return value


def str_field(data: dict[str, Any], name: str) -> str:
    value = data.get(name)
    if not isinstance(value, str) or not value:
        raise ProtocolError("INVALID_PAYLOAD", f"{name} must be a non-empty string")
    return value


def encode(event: str, data: dict[str, Any]) -> str:
    """One server frame, as the text to send."""
    return orjson.dumps({"event": event, "data": data}).decode()


def error_frame(code: str, message: str, client_message_id: str | None = None) -> str:
    data: dict[str, Any] = {"code": code, "message": message}
    if client_message_id is not None:
        data["clientMessageId"] = client_message_id
    return encode("error", data)
