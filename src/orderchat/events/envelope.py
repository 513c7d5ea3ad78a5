"""Parse an SQS message body into (eventType, payload) — SPEC 4.3.

Three shapes reach the queue:

* an SNS notification envelope (``"Type": "Notification"``, the payload JSON as a string
  in ``Message``, the type in ``MessageAttributes.eventType.Value``);
* with raw delivery, the payload itself, the type in the SQS message attribute
  ``eventType``;
* either of them without an attribute: the payload's own ``eventType`` field is used.

Other SNS bodies (``SubscriptionConfirmation``, ``UnsubscribeConfirmation``...) are
"skip": logged and deleted by the consumer, never applied.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import orjson

from orderchat.errors import InvalidEventError

Kind = Literal["event", "skip"]


@dataclass(frozen=True, slots=True)
class Envelope:
    kind: Kind
    event_type: str | None = None
    payload: Any = None
    # For "skip": what it was (the SNS Type), for the log line.
    note: str = ""


def _loads(text: str, what: str) -> Any:
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        raise InvalidEventError(f"{what} is not valid JSON") from None


def _is_sns_envelope(body: Any) -> bool:
    # Every SNS-to-SQS body carries Type and TopicArn; an order payload carries neither.
    return isinstance(body, dict) and isinstance(body.get("Type"), str) and "TopicArn" in body


def _sns_attribute(body: dict[str, Any], name: str) -> str | None:
    attrs = body.get("MessageAttributes")
    if not isinstance(attrs, dict):
        return None
    attr = attrs.get(name)
    if not isinstance(attr, dict):
        return None
    value = attr.get("Value")
    return value if isinstance(value, str) and value else None


def _sqs_attribute(attributes: dict[str, Any] | None, name: str) -> str | None:
    if not attributes:
        return None
    attr = attributes.get(name)
    if not isinstance(attr, dict):
        return None
    value = attr.get("StringValue")
    return value if isinstance(value, str) and value else None


def _payload_type(payload: Any) -> str | None:
    if isinstance(payload, dict):
        value = payload.get("eventType")
        if isinstance(value, str) and value:
            return value
    return None


def parse_sqs_message(body: str, attributes: dict[str, Any] | None = None) -> Envelope:
    """One SQS message (its ``Body`` and ``MessageAttributes``) → what to do with it.

    Raises InvalidEventError when the body (or the SNS ``Message``) is not JSON. The
    event type may still be ``None`` (found nowhere): ``EventService.handle`` rejects it.
    """
    decoded = _loads(body, "message body")
    sqs_type = _sqs_attribute(attributes, "eventType")
    if _is_sns_envelope(decoded):
        sns_type = decoded["Type"]
        if sns_type != "Notification":
            return Envelope("skip", note=sns_type[:64])
        message = decoded.get("Message")
        if not isinstance(message, str):
            raise InvalidEventError("SNS Message is not a string")
        payload = _loads(message, "SNS Message")
        event_type = _sns_attribute(decoded, "eventType") or sqs_type or _payload_type(payload)
        return Envelope("event", event_type, payload)
    return Envelope("event", sqs_type or _payload_type(decoded), decoded)
