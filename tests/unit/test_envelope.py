"""SQS message bodies (SPEC 4.3): SNS envelope, raw delivery, payload field, skip, invalid."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest

from orderchat.errors import InvalidEventError
from orderchat.events.envelope import parse_sqs_message
from orderchat.events.sqs import region_from_queue_url

TOPIC = "arn:aws:sns:us-east-1:123456789012:order-events"
PAYLOAD = {"orderId": str(uuid.uuid4()), "customerId": str(uuid.uuid4()), "vendorId": "v"}


def sns_body(message: str, attrs: dict[str, Any] | None = None, kind: str = "Notification") -> str:
    body: dict[str, Any] = {
        "Type": kind,
        "MessageId": str(uuid.uuid4()),
        "TopicArn": TOPIC,
        "Message": message,
        "Timestamp": "2026-11-24T05:28:52.123Z",
        "SignatureVersion": "1",
    }
    if attrs is not None:
        body["MessageAttributes"] = attrs
    return json.dumps(body)


def sqs_attr(value: str) -> dict[str, Any]:
    return {"eventType": {"DataType": "String", "StringValue": value}}


def test_sns_notification_type_from_sns_attribute() -> None:
    body = sns_body(
        json.dumps(PAYLOAD), {"eventType": {"Type": "String", "Value": "order.accepted"}}
    )
    env = parse_sqs_message(body, None)
    assert env.kind == "event"
    assert env.event_type == "order.accepted"
    assert env.payload == PAYLOAD


def test_sns_attribute_wins_over_payload_field() -> None:
    payload = {**PAYLOAD, "eventType": "order.cancelled"}
    body = sns_body(
        json.dumps(payload), {"eventType": {"Type": "String", "Value": "order.accepted"}}
    )
    assert parse_sqs_message(body).event_type == "order.accepted"


def test_sns_notification_without_attribute_uses_payload_field() -> None:
    payload = {**PAYLOAD, "eventType": "order.delivered"}
    env = parse_sqs_message(sns_body(json.dumps(payload)), None)
    assert (env.kind, env.event_type) == ("event", "order.delivered")


def test_raw_delivery_type_from_sqs_attribute() -> None:
    env = parse_sqs_message(json.dumps(PAYLOAD), sqs_attr("order.rider_assigned"))
    assert (env.kind, env.event_type, env.payload) == ("event", "order.rider_assigned", PAYLOAD)


def test_raw_without_attribute_uses_payload_field() -> None:
    payload = {**PAYLOAD, "eventType": "order.cancelled"}
    env = parse_sqs_message(json.dumps(payload), {})
    assert env.event_type == "order.cancelled"


def test_no_type_anywhere_is_none_for_handle_to_reject() -> None:
    env = parse_sqs_message(json.dumps(PAYLOAD), None)
    assert (env.kind, env.event_type) == ("event", None)
    # A non-string attribute value or payload field does not count as a type either.
    env = parse_sqs_message(json.dumps({**PAYLOAD, "eventType": 7}), {"eventType": {}})
    assert env.event_type is None


@pytest.mark.parametrize("kind", ["SubscriptionConfirmation", "UnsubscribeConfirmation", "X"])
def test_non_notification_sns_bodies_are_skipped(kind: str) -> None:
    body = sns_body("You have chosen to subscribe to the topic", None, kind)
    env = parse_sqs_message(body, None)
    assert env.kind == "skip"
    assert env.note == kind
    assert env.event_type is None


def test_a_payload_with_a_type_field_but_no_topic_is_not_an_envelope() -> None:
    payload = {**PAYLOAD, "Type": "SubscriptionConfirmation"}
    env = parse_sqs_message(json.dumps(payload), sqs_attr("order.accepted"))
    assert env.kind == "event" and env.payload == payload


@pytest.mark.parametrize(
    "body",
    [
        "not json {",
        "",
        sns_body("not json {", {"eventType": {"Type": "String", "Value": "order.accepted"}}),
    ],
)
def test_bad_json_is_invalid(body: str) -> None:
    with pytest.raises(InvalidEventError):
        parse_sqs_message(body, sqs_attr("order.accepted"))


def test_sns_message_not_a_string_is_invalid() -> None:
    body = json.dumps({"Type": "Notification", "TopicArn": TOPIC, "Message": {"orderId": "x"}})
    with pytest.raises(InvalidEventError):
        parse_sqs_message(body)


@pytest.mark.parametrize(
    ("url", "region"),
    [
        ("https://sqs.eu-west-1.amazonaws.com/123456789012/q", "eu-west-1"),
        ("https://sqs.ap-southeast-2.amazonaws.com/1/q", "ap-southeast-2"),
        ("https://sqs.cn-north-1.amazonaws.com.cn/1/q", "cn-north-1"),
        ("http://127.0.0.1:4566/000000000000/q", "us-east-1"),
        ("https://queue.amazonaws.com/1/q", "us-east-1"),
    ],
)
def test_region_from_queue_url(url: str, region: str) -> None:
    assert region_from_queue_url(url) == region
