"""Order events (SPEC 4.1): parse and validate a payload into an OrderEvent."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, ValidationError

from orderchat.errors import InvalidEventError

EventKind = Literal["accepted", "rider_assigned", "rider_unassigned", "delivered", "cancelled"]

EVENT_TYPES: dict[str, EventKind] = {
    "order.accepted": "accepted",
    "order.rider_assigned": "rider_assigned",
    "rider.assigned": "rider_assigned",
    "order.rider_unassigned": "rider_unassigned",
    "order.delivered": "delivered",
    "order.cancelled": "cancelled",
}
TERMINAL_KINDS: frozenset[EventKind] = frozenset({"delivered", "cancelled"})


@dataclass(frozen=True, slots=True)
class OrderEvent:
    kind: EventKind
    order_id: uuid.UUID
    customer_id: uuid.UUID | None = None
    vendor_id: uuid.UUID | None = None
    rider_id: uuid.UUID | None = None
    reason: str | None = None

    @property
    def is_terminal(self) -> bool:
        return self.kind in TERMINAL_KINDS


class _Base(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)
    orderId: uuid.UUID


class _Accepted(_Base):
    customerId: uuid.UUID
    vendorId: uuid.UUID


class _Rider(_Base):
    riderId: uuid.UUID


class _Delivered(_Base):
    deliveredAt: datetime


class _Cancelled(_Base):
    reason: str | None = None


_MODELS: dict[EventKind, type[_Base]] = {
    "accepted": _Accepted,
    "rider_assigned": _Rider,
    "rider_unassigned": _Rider,
    "delivered": _Delivered,
    "cancelled": _Cancelled,
}


def known_event_type(event_type: str) -> bool:
    return event_type in EVENT_TYPES


def parse_event(event_type: str, payload: Any) -> OrderEvent:
    """Validate one event of a known type; InvalidEventError names what is wrong."""
    kind = EVENT_TYPES[event_type]
    if not isinstance(payload, dict):
        raise InvalidEventError("payload is not a JSON object")
    try:
        model = _MODELS[kind].model_validate(payload)
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(str(p) for p in err["loc"]) or "payload"
        raise InvalidEventError(f"{where}: {err['msg']}") from None
    if isinstance(model, _Accepted):
        if model.customerId == model.vendorId:
            raise InvalidEventError("customerId and vendorId must differ")
        return OrderEvent(
            kind, model.orderId, customer_id=model.customerId, vendor_id=model.vendorId
        )
    if isinstance(model, _Rider):
        return OrderEvent(kind, model.orderId, rider_id=model.riderId)
    if isinstance(model, _Cancelled):
        return OrderEvent(kind, model.orderId, reason=model.reason)
    return OrderEvent(kind, model.orderId)
