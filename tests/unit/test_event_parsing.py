"""parse_event: every order event type validated, every failure names what is wrong."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from orderchat.domain.events import EVENT_TYPES, known_event_type, parse_event
from orderchat.errors import InvalidEventError

OID, CID, VID, RID = (str(uuid.uuid4()) for _ in range(4))

VALID: dict[str, dict[str, Any]] = {
    "order.accepted": {"orderId": OID, "customerId": CID, "vendorId": VID},
    "order.rider_assigned": {"orderId": OID, "riderId": RID},
    "rider.assigned": {"orderId": OID, "riderId": RID},
    "order.rider_unassigned": {"orderId": OID, "riderId": RID},
    "order.delivered": {"orderId": OID, "deliveredAt": "2026-11-24T05:28:52.123Z"},
    "order.cancelled": {"orderId": OID},
}


def test_every_spec_type_is_known() -> None:
    assert set(VALID) == set(EVENT_TYPES)
    assert not known_event_type("order.created")
    assert not known_event_type("ORDER.ACCEPTED")


@pytest.mark.parametrize("event_type", sorted(VALID))
def test_valid_payloads_parse(event_type: str) -> None:
    payload = {**VALID[event_type], "eventType": event_type, "extra": {"ignored": True}}
    event = parse_event(event_type, payload)
    assert event.order_id == uuid.UUID(OID)
    assert event.is_terminal is (event_type in ("order.delivered", "order.cancelled"))


def test_parsed_fields() -> None:
    accepted = parse_event("order.accepted", VALID["order.accepted"])
    assert (accepted.kind, accepted.customer_id, accepted.vendor_id) == (
        "accepted",
        uuid.UUID(CID),
        uuid.UUID(VID),
    )
    alias = parse_event("rider.assigned", VALID["rider.assigned"])
    assert alias.kind == "rider_assigned" and alias.rider_id == uuid.UUID(RID)
    unassigned = parse_event("order.rider_unassigned", VALID["order.rider_unassigned"])
    assert unassigned.kind == "rider_unassigned"
    cancelled = parse_event("order.cancelled", {"orderId": OID, "reason": "out of stock"})
    assert cancelled.kind == "cancelled" and cancelled.reason == "out of stock"


def test_uuid_case_is_canonical() -> None:
    event = parse_event(
        "order.accepted", {k: v.upper() for k, v in VALID["order.accepted"].items()}
    )
    assert str(event.order_id) == OID and str(event.customer_id) == CID


@pytest.mark.parametrize(
    ("event_type", "field"),
    [
        ("order.accepted", "orderId"),
        ("order.accepted", "customerId"),
        ("order.accepted", "vendorId"),
        ("order.rider_assigned", "riderId"),
        ("order.rider_unassigned", "riderId"),
        ("order.delivered", "deliveredAt"),
        ("order.cancelled", "orderId"),
    ],
)
def test_missing_field(event_type: str, field: str) -> None:
    payload = dict(VALID[event_type])
    del payload[field]
    with pytest.raises(InvalidEventError) as info:
        parse_event(event_type, payload)
    assert field in info.value.message


@pytest.mark.parametrize("bad", ["not-a-uuid", "", "1234", "3f2504e0-4f89-11d3-9a0c", 42, None])
@pytest.mark.parametrize("field", ["orderId", "customerId", "vendorId"])
def test_bad_uuid(field: str, bad: object) -> None:
    payload = {**VALID["order.accepted"], field: bad}
    with pytest.raises(InvalidEventError) as info:
        parse_event("order.accepted", payload)
    assert field in info.value.message


@pytest.mark.parametrize(
    ("event_type", "field", "value"),
    [
        ("order.rider_assigned", "riderId", ["x"]),
        ("order.rider_assigned", "riderId", {"id": RID}),
        ("order.delivered", "deliveredAt", "yesterday"),
        ("order.delivered", "deliveredAt", [1]),
        ("order.cancelled", "reason", 12),
        ("order.accepted", "orderId", True),
    ],
)
def test_wrong_types(event_type: str, field: str, value: object) -> None:
    payload = {**VALID[event_type], field: value}
    with pytest.raises(InvalidEventError) as info:
        parse_event(event_type, payload)
    assert field in info.value.message


@pytest.mark.parametrize("payload", [None, [], "order", 3, [VALID["order.cancelled"]]])
def test_payload_not_an_object(payload: object) -> None:
    with pytest.raises(InvalidEventError, match="object"):
        parse_event("order.cancelled", payload)


def test_customer_and_vendor_must_differ() -> None:
    with pytest.raises(InvalidEventError):
        parse_event("order.accepted", {"orderId": OID, "customerId": CID, "vendorId": CID})
