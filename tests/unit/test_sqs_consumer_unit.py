"""SqsConsumer against a scripted fake SQS client: what real SQS/moto cannot be made to do.

Batch deletes reporting Failed entries, receive calls raising, a stop in the middle of
a batch or of a long poll, the database failing half-way through a batch.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Awaitable, Callable
from typing import Any, cast

import pytest

from orderchat.errors import UnavailableError
from orderchat.events.sqs import SqsConsumer
from orderchat.metrics import Metrics

QUEUE = "https://sqs.eu-west-1.amazonaws.com/123456789012/orderchat-events"
WAIT = 5.0


def message(n: int, event_type: str = "order.cancelled") -> dict[str, Any]:
    return {
        "MessageId": f"m{n}",
        "ReceiptHandle": f"rh-{n}",
        "Body": json.dumps({"orderId": str(uuid.uuid4())}),
        "MessageAttributes": {"eventType": {"DataType": "String", "StringValue": event_type}},
        "Attributes": {"ApproximateReceiveCount": "1"},
    }


class FakeSqs:
    """receive_message answers from `batches` (an item may be an exception to raise), then
    long-polls for ever; delete_message_batch answers from `deletes`, then all-successful."""

    def __init__(self) -> None:
        self.batches: asyncio.Queue[list[dict[str, Any]] | Exception] = asyncio.Queue()
        self.deletes: list[dict[str, Any]] = []
        self.receive_calls: list[dict[str, Any]] = []
        self.delete_calls: list[list[dict[str, str]]] = []
        self._received = asyncio.Event()

    async def wait_receives(self, n: int) -> None:
        async with asyncio.timeout(WAIT):
            while len(self.receive_calls) < n:
                await self._received.wait()

    async def receive_message(self, **kwargs: Any) -> dict[str, Any]:
        self.receive_calls.append(kwargs)
        received, self._received = self._received, asyncio.Event()
        received.set()
        item = await self.batches.get()
        if isinstance(item, Exception):
            raise item
        return {"Messages": item}

    async def delete_message_batch(self, **kwargs: Any) -> dict[str, Any]:
        entries: list[dict[str, str]] = kwargs["Entries"]
        self.delete_calls.append(entries)
        if self.deletes:
            return self.deletes.pop(0)
        return {"Successful": [{"Id": e["Id"]} for e in entries], "Failed": []}

    async def get_queue_attributes(self, **_kwargs: Any) -> dict[str, Any]:
        return {"Attributes": {"QueueArn": "arn:aws:sqs:eu-west-1:123456789012:q"}}


class FakeEvents:
    def __init__(self) -> None:
        self.seen: list[tuple[object, Any]] = []
        self.behaviour: Callable[[int], Awaitable[None]] | None = None

    async def handle(self, event_type: object, payload: Any, *, source: str) -> str:
        assert source == "sqs"
        self.seen.append((event_type, payload))
        if self.behaviour is not None:
            await self.behaviour(len(self.seen))
        return "applied"


def make(fake: FakeSqs, events: FakeEvents, **kwargs: Any) -> tuple[SqsConsumer, Metrics]:
    metrics = Metrics()
    consumer = SqsConsumer(
        cast(Any, events),
        metrics,
        queue_url=QUEUE,
        client=fake,
        wait_seconds=1,
        backoff_initial=0.01,
        backoff_max=0.05,
        **kwargs,
    )
    return consumer, metrics


async def until(consumer: SqsConsumer, **at_least: int) -> None:
    async with asyncio.timeout(WAIT):
        await consumer.stats.wait_until(lambda s: all(s[k] >= n for k, n in at_least.items()))


async def test_receive_asks_for_long_polled_batches_of_ten_with_all_attributes() -> None:
    fake, events = FakeSqs(), FakeEvents()
    consumer, _ = make(fake, events)
    await consumer.start()
    fake.batches.put_nowait([message(1)])
    await until(consumer, deleted=1)
    await consumer.stop()
    call = fake.receive_calls[0]
    assert call["QueueUrl"] == QUEUE and call["MaxNumberOfMessages"] == 10
    assert call["WaitTimeSeconds"] == 1 and call["MessageAttributeNames"] == ["All"]
    assert SqsConsumer(cast(Any, events), Metrics(), queue_url=QUEUE)._wait_seconds == 20


async def test_failed_and_unreported_delete_entries_are_retried() -> None:
    fake, events = FakeSqs(), FakeEvents()
    fake.deletes = [
        # Entry "1" failed, entry "2" is in neither list: neither may be assumed deleted.
        {
            "Successful": [{"Id": "0"}],
            "Failed": [{"Id": "1", "Code": "InternalError", "SenderFault": False}],
        },
        {"Successful": [{"Id": "1"}], "Failed": [{"Id": "2", "Code": "InternalError"}]},
    ]
    consumer, _ = make(fake, events)
    await consumer.start()
    fake.batches.put_nowait([message(0), message(1), message(2)])
    await until(consumer, deleted=3)
    await consumer.stop()
    handles = [sorted(e["ReceiptHandle"] for e in call) for call in fake.delete_calls]
    assert handles == [["rh-0", "rh-1", "rh-2"], ["rh-1", "rh-2"], ["rh-2"]]
    assert consumer.stats["delete_retries"] == 2
    assert len(events.seen) == 3  # retried deletes never re-apply the events


async def test_unexpected_errors_are_logged_and_polling_goes_on(
    caplog: pytest.LogCaptureFixture,
) -> None:
    fake, events = FakeSqs(), FakeEvents()
    consumer, metrics = make(fake, events)
    fake.batches.put_nowait(RuntimeError("endpoint exploded"))
    fake.batches.put_nowait(ConnectionError("reset"))
    await consumer.start()
    await until(consumer, errors=2)
    assert metrics.sqs_up._value.get() == 0
    fake.batches.put_nowait([message(1)])
    await until(consumer, deleted=1)
    assert metrics.sqs_up._value.get() == 1
    await consumer.check()  # still running: ready
    await consumer.stop()
    assert "sqs consumer error (will retry): RuntimeError" in caplog.text
    assert metrics.sqs_up._value.get() == 0


async def test_stop_finishes_the_batch_in_flight_then_stops_polling() -> None:
    fake, events = FakeSqs(), FakeEvents()
    inside, release = asyncio.Event(), asyncio.Event()

    async def slow(n: int) -> None:
        if n == 1:
            inside.set()
            await release.wait()

    events.behaviour = slow
    consumer, _ = make(fake, events)
    await consumer.start()
    fake.batches.put_nowait([message(1), message(2)])
    async with asyncio.timeout(WAIT):
        await inside.wait()
    stopping = asyncio.create_task(consumer.stop())
    await asyncio.sleep(0)  # let stop() begin; it must wait for the batch
    assert not stopping.done()
    release.set()
    async with asyncio.timeout(WAIT):
        await stopping
    assert len(events.seen) == 2 and consumer.stats["deleted"] == 2
    assert len(fake.receive_calls) == 1  # no receive after stop
    with pytest.raises(UnavailableError):
        await consumer.check()


async def test_stop_during_a_long_poll_returns_at_once() -> None:
    fake, events = FakeSqs(), FakeEvents()
    consumer, _ = make(fake, events)
    await consumer.start()
    await fake.wait_receives(1)
    async with asyncio.timeout(WAIT):
        await consumer.stop()
    assert events.seen == []


async def test_database_down_mid_batch_deletes_only_what_was_applied_then_probes() -> None:
    fake, events = FakeSqs(), FakeEvents()
    db_up = asyncio.Event()
    probes: list[bool] = []

    async def fail_second(n: int) -> None:
        if n == 2:
            raise UnavailableError("database unavailable")

    async def probe() -> None:
        probes.append(db_up.is_set())
        if not db_up.is_set():
            raise UnavailableError("database unavailable")

    events.behaviour = fail_second
    consumer, _ = make(fake, events, health_check=probe)
    await consumer.start()
    fake.batches.put_nowait([message(1), message(2), message(3)])
    await until(consumer, unavailable=3)  # the batch failure, then two failed probes
    assert len(events.seen) == 2  # message 3 was not tried: the database is down
    assert [e["ReceiptHandle"] for call in fake.delete_calls for e in call] == ["rh-1"]
    assert len(fake.receive_calls) == 1  # no receive while the database is down
    db_up.set()
    await fake.wait_receives(2)  # polling resumes once the probe passes
    await consumer.stop()
    assert probes[-1] is True and probes.count(True) == 1


async def test_a_message_whose_handling_crashes_is_left_and_the_batch_goes_on() -> None:
    fake, events = FakeSqs(), FakeEvents()

    async def crash_first(n: int) -> None:
        if n == 1:
            raise ValueError("bug")

    events.behaviour = crash_first
    consumer, _ = make(fake, events)
    await consumer.start()
    fake.batches.put_nowait([message(1), message(2), message(3, "order.prepared")])
    await until(consumer, deleted=2)
    await consumer.stop()
    assert consumer.stats["errors"] == 1
    assert [e["ReceiptHandle"] for call in fake.delete_calls for e in call] == ["rh-2", "rh-3"]
