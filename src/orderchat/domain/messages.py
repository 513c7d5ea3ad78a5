"""Messages: content rules (SPEC 5.3) and the wire shape of a stored message (SPEC 5.2)."""

from __future__ import annotations

import unicodedata
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from orderchat.errors import InvalidPayloadError, MessageEmptyError, MessageTooLongError

MAX_CLIENT_MESSAGE_ID = 64
# seqs are stored as 64-bit integers on both databases: a bigger bound is a client mistake
MAX_SEQ = 2**63 - 1


@dataclass(frozen=True, slots=True)
class Message:
    message_id: uuid.UUID
    order_id: uuid.UUID
    seq: int
    sender_id: uuid.UUID
    sender_role: str
    content: str
    created_at: datetime
    client_message_id: str | None

    def to_wire(self) -> dict[str, Any]:
        return {
            "messageId": str(self.message_id),
            "orderId": str(self.order_id),
            "seq": self.seq,
            "senderId": str(self.sender_id),
            "senderRole": self.sender_role,
            "content": self.content,
            "timestamp": rfc3339_ms(self.created_at),
            "clientMessageId": self.client_message_id,
        }


def rfc3339_ms(when: datetime) -> str:
    """``2026-11-24T05:28:52.123Z``."""
    when = when.astimezone(UTC) if when.tzinfo else when.replace(tzinfo=UTC)
    return when.strftime("%Y-%m-%dT%H:%M:%S.") + f"{when.microsecond // 1000:03d}Z"


def rfc3339_or_none(when: datetime | None) -> str | None:
    return rfc3339_ms(when) if when is not None else None


def utcnow_ms() -> datetime:
    """Now, in UTC, truncated to the millisecond the wire format carries."""
    now = datetime.now(UTC)
    return now.replace(microsecond=now.microsecond // 1000 * 1000)


def validate_content(content: object, max_chars: int) -> str:
    if not isinstance(content, str):
        raise InvalidPayloadError("message must be a string")
    if _blank(content):
        raise MessageEmptyError("message is empty")
    if len(content) > max_chars:
        raise MessageTooLongError(f"message is longer than {max_chars} characters")
    if "\x00" in content:
        # PostgreSQL text cannot hold NUL: refuse it on every backend (not a false UNAVAILABLE)
        raise InvalidPayloadError("message must not contain NUL characters")
    return content


def _blank(content: str) -> bool:
    """Nothing a reader would see: whitespace and invisible format characters only
    (zero-width space, BOM, word joiner: Unicode category Cf)."""
    return all(c.isspace() or unicodedata.category(c) == "Cf" for c in content)


def validate_client_message_id(value: object) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise InvalidPayloadError("clientMessageId must be a string")
    if not value or len(value) > MAX_CLIENT_MESSAGE_ID:
        raise InvalidPayloadError(
            f"clientMessageId must be 1 to {MAX_CLIENT_MESSAGE_ID} characters"
        )
    if "\x00" in value:  # PostgreSQL text cannot hold NUL
        raise InvalidPayloadError("clientMessageId must not contain NUL characters")
    return value
