"""The SQS consumer against a moto server, through SNS, on both databases (SPEC 4.3).

Every test gets a fresh topic, queue and DLQ (see tests/sqs_helpers.py) and runs the app
built by `build_services`/`create_app` with ORDERCHAT_SQS_QUEUE_URL pointing at it.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from prometheus_client.parser import text_string_to_metric_families

from orderchat.config import Settings
from orderchat.events.sqs import SqsConsumer
from orderchat.services import Services
from tests.conftest import make_settings
from tests.sqs_helpers import SqsInfra, aws_env, create_infra, moto_server

__all__ = ["aws_env", "moto_server"]  # fixtures used by name below

WAIT = 15.0  # seconds before a test gives up waiting for the consumer (avoids hangs)


@pytest.fixture
def infra(request: pytest.FixtureRequest, moto_server: str, aws_env: None) -> Iterator[SqsInfra]:
    options: dict[str, Any] = getattr(request, "param", {})
    made = create_infra(moto_server, **options)
    yield made
    made.close()


@pytest.fixture
def settings(tmp_path: Path, db_url: str, infra: SqsInfra) -> Settings:
    return make_settings(
        tmp_path,
        db_url,
        sqs_queue_url=infra.queue_url,
        aws_endpoint_url=infra.endpoint,
        sqs_wait_seconds=1,
    )


def consumer_of(services: Services) -> SqsConsumer:
    consumer = services.extras["sqs"]
    assert isinstance(consumer, SqsConsumer)
    return consumer


async def wait_stats(consumer: SqsConsumer, **at_least: int) -> None:
    async with asyncio.timeout(WAIT):
        await consumer.stats.wait_until(lambda s: all(s[name] >= n for name, n in at_least.items()))


def ids() -> dict[str, str]:
    return {k: str(uuid.uuid4()) for k in ("orderId", "customerId", "vendorId", "riderId")}


def metric(text: str, name: str, **labels: str) -> float:
    """The value of one sample of a Prometheus text page (0 when absent)."""
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name and sample.labels == labels:
                return float(sample.value)
    return 0.0


EVENTS = "orderchat_events_total"
APPLIED_ACCEPTED = {"type": "order.accepted", "outcome": "applied"}


async def test_sns_events_open_assign_and_close_the_room(
    app: FastAPI, client: httpx.AsyncClient, services: Services, infra: SqsInfra
) -> None:
    consumer = consumer_of(services)
    before = metric((await client.get("/metrics")).text, EVENTS, **APPLIED_ACCEPTED)
    o = ids()
    infra.publish("order.accepted", {k: o[k] for k in ("orderId", "customerId", "vendorId")})
    infra.publish("order.rider_assigned", {"orderId": o["orderId"], "riderId": o["riderId"]})
    await wait_stats(consumer, handled=2, deleted=2)
    room = await services.store.rooms.get(uuid.UUID(o["orderId"]))
    assert room is not None and not room.read_only
    assert room.has_participant(o["riderId"], "rider")
    assert room.has_participant(o["customerId"], "customer")

    infra.publish(
        "order.delivered", {"orderId": o["orderId"], "deliveredAt": "2026-11-24T05:28:52Z"}
    )
    await wait_stats(consumer, handled=3, deleted=3)
    room = await services.store.rooms.get(uuid.UUID(o["orderId"]))
    assert room is not None and room.read_only and room.closed_reason == "delivered"
    assert infra.counts() == (0, 0)  # every message deleted, none in flight
    assert infra.counts(infra.dlq_url) == (0, 0)

    text = (await client.get("/metrics")).text
    assert metric(text, EVENTS, **APPLIED_ACCEPTED) == before + 1
    assert metric(text, "orderchat_sqs_consumer_up") == 1.0
    ready = await client.get("/readyz")
    assert ready.status_code == 200 and ready.json()["checks"]["sqs"] == "ok"


@pytest.mark.parametrize("infra", [{"raw": True}], indirect=True)
async def test_raw_delivery_type_from_attribute_or_payload(
    app: FastAPI, services: Services, infra: SqsInfra
) -> None:
    consumer = consumer_of(services)
    o = ids()
    infra.publish("order.accepted", {k: o[k] for k in ("orderId", "customerId", "vendorId")})
    # No message attribute at all: the payload's own eventType field names it.
    infra.publish(None, {"eventType": "order.cancelled", "orderId": o["orderId"]})
    await wait_stats(consumer, handled=2, deleted=2)
    room = await services.store.rooms.get(uuid.UUID(o["orderId"]))
    assert room is not None
    assert room.has_participant(o["vendorId"], "vendor")
    assert room.read_only and room.closed_reason == "cancelled"
    assert infra.counts() == (0, 0)


async def test_subscription_confirmation_and_unknown_types_are_deleted(
    app: FastAPI, client: httpx.AsyncClient, services: Services, infra: SqsInfra
) -> None:
    consumer = consumer_of(services)
    ignored = {"type": "other", "outcome": "ignored"}
    before = metric((await client.get("/metrics")).text, EVENTS, **ignored)
    infra.send_direct(
        json.dumps(
            {
                "Type": "SubscriptionConfirmation",
                "MessageId": str(uuid.uuid4()),
                "Token": "2336412f37fb687f5d51e6e2425c464d",
                "TopicArn": infra.topic_arn,
                "Message": "You have chosen to subscribe to the topic.",
                "SubscribeURL": "https://sns.us-east-1.amazonaws.com/?Action=ConfirmSubscription",
            }
        )
    )
    infra.publish("order.prepared", {"orderId": str(uuid.uuid4())})
    await wait_stats(consumer, skipped=1, handled=1, deleted=2)
    assert consumer.stats["invalid"] == 0
    assert infra.counts() == (0, 0)
    assert infra.counts(infra.dlq_url) == (0, 0)
    assert metric((await client.get("/metrics")).text, EVENTS, **ignored) == before + 1


async def test_malformed_messages_reach_the_dlq_while_good_ones_flow(
    app: FastAPI, client: httpx.AsyncClient, services: Services, infra: SqsInfra
) -> None:
    consumer = consumer_of(services)
    good = [ids() for _ in range(3)]
    bad_order = str(uuid.uuid4())
    infra.publish("order.accepted", None, raw_text="{not json")
    infra.publish("order.accepted", {"customerId": bad_order, "vendorId": str(uuid.uuid4())})
    infra.publish(None, {"orderId": bad_order})  # no type anywhere
    for o in good:
        infra.publish("order.accepted", {k: o[k] for k in ("orderId", "customerId", "vendorId")})
    # Each bad message is received maxReceiveCount (2) times, then moved by the queue.
    await wait_stats(consumer, handled=3, deleted=3, invalid=6)
    dead = await asyncio.to_thread(infra.drain_dlq, 3)
    messages = sorted(json.loads(m["Body"])["Message"] for m in dead)
    assert len(messages) == 3
    assert "{not json" in messages
    assert any("customerId" in m and "orderId" not in m for m in messages)
    assert json.dumps({"orderId": bad_order}) in messages
    for o in good:
        room = await services.store.rooms.get(uuid.UUID(o["orderId"]))
        assert room is not None and room.has_participant(o["customerId"], "customer")
    assert await services.store.rooms.get(uuid.UUID(bad_order)) is None
    assert infra.counts() == (0, 0)
    text = (await client.get("/metrics")).text
    assert metric(text, EVENTS, type="unknown", outcome="invalid") >= 4
    assert metric(text, EVENTS, type="order.accepted", outcome="invalid") >= 2
