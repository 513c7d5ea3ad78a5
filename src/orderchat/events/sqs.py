"""SqsConsumer: long-poll the order-events queue, apply each event, delete after commit.

SPEC 4.3. A message is deleted only once ``EventService.handle`` has returned (its effect
is committed, or it was a duplicate / an ignored type / an SNS non-notification body).
An invalid event stays on the queue so its redrive policy moves it to the dead-letter
queue. While the database is down nothing is deleted and the consumer backs off, probing
the database before it receives again so a long outage does not burn receive counts.
The loop is supervised: an unexpected error is logged and polling resumes after a backoff.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from collections.abc import Awaitable, Callable
from contextlib import AsyncExitStack
from typing import TYPE_CHECKING, Any

from orderchat.errors import UnavailableError
from orderchat.events.service import EventService
from orderchat.events.sqs_batch import SqsBatchHandler
from orderchat.events.sqs_stats import ConsumerStats
from orderchat.metrics import Metrics

if TYPE_CHECKING:
    from orderchat.services import Services

log = logging.getLogger("orderchat.sqs")

HealthCheck = Callable[[], Awaitable[None]]
_REGION_HOST = re.compile(r"^sqs[.-]([a-z0-9-]+)\.amazonaws\.com(?:\.cn)?$")


def region_from_queue_url(queue_url: str) -> str:
    """``https://sqs.eu-west-1.amazonaws.com/123/q`` → ``eu-west-1``; else ``us-east-1``."""
    host = queue_url.split("://", 1)[-1].split("/", 1)[0].split(":", 1)[0].lower()
    match = _REGION_HOST.match(host)
    return match.group(1) if match else "us-east-1"


def install_sqs_consumer(services: Services) -> SqsConsumer | None:
    """With ``ORDERCHAT_SQS_QUEUE_URL`` set: a consumer started/stopped with the app."""
    settings = services.settings
    if not settings.sqs_queue_url:
        return None
    consumer = SqsConsumer(
        services.events,
        services.metrics,
        queue_url=settings.sqs_queue_url,
        endpoint_url=settings.aws_endpoint_url,
        wait_seconds=settings.sqs_wait_seconds,
        health_check=services.store.db.ping,
        stop_grace=max(settings.shutdown_grace_seconds, 1.0),
    )
    services.extras["sqs"] = consumer
    services.extras.setdefault("startup", []).append(consumer.start)
    services.extras.setdefault("shutdown", []).append(consumer.stop)
    services.readiness["sqs"] = consumer.check
    return consumer


class SqsConsumer(SqsBatchHandler):
    def __init__(
        self,
        events: EventService,
        metrics: Metrics,
        *,
        queue_url: str,
        endpoint_url: str | None = None,
        region: str | None = None,
        wait_seconds: int = 20,
        max_messages: int = 10,
        health_check: HealthCheck | None = None,
        backoff_initial: float = 0.5,
        backoff_max: float = 15.0,
        stop_grace: float = 10.0,
        client: Any = None,
    ) -> None:
        self._events = events
        self._metrics = metrics
        self.queue_url = queue_url
        self._endpoint_url = endpoint_url
        self._region = region
        self._wait_seconds = wait_seconds
        self._max_messages = max_messages
        self._health_check = health_check
        self._backoff_initial = backoff_initial
        self._backoff_max = backoff_max
        self._stop_grace = stop_grace
        self._client: Any = client
        self._exit = AsyncExitStack()
        self._stopping = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._db_down = False
        self.stats = ConsumerStats()

    # -- life cycle -------------------------------------------------------------------

    async def start(self) -> None:
        if self._client is None:
            self._client = await self._exit.enter_async_context(self._create_client())
        self._stopping.clear()
        self._task = asyncio.create_task(self._run(), name="orderchat-sqs-consumer")
        log.info("sqs consumer started wait=%ss batch=%s", self._wait_seconds, self._max_messages)

    def _create_client(self) -> Any:
        from aiobotocore.config import AioConfig
        from aiobotocore.session import get_session

        session = get_session()
        region = (
            self._region
            or session.get_config_variable("region")
            or region_from_queue_url(self.queue_url)
        )
        config = AioConfig(
            connect_timeout=5,
            read_timeout=self._wait_seconds + 10,
            retries={"max_attempts": 3, "mode": "standard"},
        )
        return session.create_client(
            "sqs", region_name=region, endpoint_url=self._endpoint_url, config=config
        )

    async def stop(self) -> None:
        """Stop polling; a batch being processed is finished (applied and deleted) first."""
        self._stopping.set()
        task, self._task = self._task, None
        if task is not None:
            try:
                await asyncio.wait_for(asyncio.shield(task), self._stop_grace)
            except TimeoutError:
                log.warning("sqs consumer did not finish within %ss; cancelled", self._stop_grace)
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            except Exception:
                log.exception("sqs consumer loop ended with an error")
        self._metrics.sqs_up.set(0)
        await self._exit.aclose()
        self._client = None
        log.info("sqs consumer stopped")

    async def check(self) -> None:
        """Readiness: the loop runs and the queue answers GetQueueAttributes quickly."""
        if self._client is None or self._task is None or self._task.done():
            raise UnavailableError("sqs consumer not running")
        await asyncio.wait_for(
            self._client.get_queue_attributes(QueueUrl=self.queue_url, AttributeNames=["QueueArn"]),
            2.0,
        )

    # -- the supervised loop ----------------------------------------------------------

    async def _run(self) -> None:
        failures = 0
        while not self._stopping.is_set():
            try:
                if not await self._step():
                    break
                failures = 0
                continue
            except UnavailableError:
                self._db_down = True
                self.stats.bump("unavailable")
            except Exception as err:
                self._metrics.sqs_up.set(0)
                self.stats.bump("errors")
                log.error("sqs consumer error (will retry): %s", type(err).__name__, exc_info=True)
            failures += 1
            delay = min(self._backoff_max, self._backoff_initial * 2 ** min(failures - 1, 16))
            if self._db_down:
                log.warning("sqs consumer: database unavailable, backing off %.1fs", delay)
            await self._pause(delay)
        self._metrics.sqs_up.set(0)

    async def _step(self) -> bool:
        """One receive and its batch; False when stopping. UnavailableError: back off."""
        if self._db_down:
            if self._health_check is not None:
                await self._health_check()
            self._db_down = False
            log.info("sqs consumer: database back, resuming")
        messages = await self._receive_unless_stopped()
        if messages is None:
            return False
        self._metrics.sqs_up.set(1)
        if messages:
            await self._handle_batch(messages)
        return True

    async def _pause(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stopping.wait(), seconds)

    async def _receive_unless_stopped(self) -> list[dict[str, Any]] | None:
        receive = asyncio.ensure_future(
            self._client.receive_message(
                QueueUrl=self.queue_url,
                MaxNumberOfMessages=self._max_messages,
                WaitTimeSeconds=self._wait_seconds,
                MessageAttributeNames=["All"],
                MessageSystemAttributeNames=["ApproximateReceiveCount"],
            )
        )
        stopping = asyncio.ensure_future(self._stopping.wait())
        try:
            await asyncio.wait({receive, stopping}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            stopping.cancel()
            if not receive.done():
                # Stopping, or cancelled: nothing was handed to us, nothing to finish.
                receive.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await receive
        if receive.cancelled():
            return None
        messages: list[dict[str, Any]] = receive.result().get("Messages", [])
        return messages
