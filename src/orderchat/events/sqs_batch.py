"""One received SQS batch: apply each message, then delete what may be deleted (SPEC 4.3).

``SqsConsumer`` (events/sqs.py) receives; this part decides per message and acknowledges.
A message is deleted only once ``EventService.handle`` has returned; an invalid one stays
for the redrive policy; a database outage stops the batch with nothing more deleted.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from orderchat.errors import InvalidEventError, UnavailableError
from orderchat.events.envelope import parse_sqs_message
from orderchat.events.service import EventService
from orderchat.events.sqs_stats import ConsumerStats
from orderchat.metrics import Metrics

log = logging.getLogger("orderchat.sqs")

DELETE_ATTEMPTS = 5


class SqsBatchHandler:
    """Message handling and acking for ``SqsConsumer``, which sets these attributes."""

    queue_url: str
    stats: ConsumerStats
    _events: EventService
    _metrics: Metrics
    _client: Any

    # -- one batch --------------------------------------------------------------------

    async def _handle_batch(self, messages: list[dict[str, Any]]) -> None:
        self.stats.bump("received", len(messages))
        done: list[dict[str, Any]] = []
        unavailable: UnavailableError | None = None
        for message in messages:
            try:
                if await self._process(message):
                    done.append(message)
            except UnavailableError as err:
                # The rest would fail the same way: leave them all for redelivery.
                unavailable = err
                break
        if done:
            await self._delete(done)
        if unavailable is not None:
            raise unavailable

    async def _process(self, message: dict[str, Any]) -> bool:
        """Apply one message; True when it may be deleted."""
        mid = str(message.get("MessageId", "?"))[:80]
        receives = message.get("Attributes", {}).get("ApproximateReceiveCount", "?")
        try:
            envelope = parse_sqs_message(
                str(message.get("Body", "")), message.get("MessageAttributes")
            )
        except InvalidEventError as err:
            self._metrics.events_total.labels(type="unknown", outcome="invalid").inc()
            self.stats.bump("invalid")
            log.warning(
                "sqs message rejected, left for redrive id=%s receives=%s reason=%s",
                mid,
                receives,
                err.message,
            )
            return False
        if envelope.kind == "skip":
            self.stats.bump("skipped")
            log.info("sqs message skipped id=%s sns_type=%s", mid, envelope.note)
            return True
        try:
            await self._events.handle(envelope.event_type, envelope.payload, source="sqs")
        except InvalidEventError:
            # handle() counted and logged why; the redrive policy takes it to the DLQ.
            self.stats.bump("invalid")
            log.warning("sqs message left for redrive id=%s receives=%s", mid, receives)
            return False
        except UnavailableError:
            raise
        except Exception as err:
            self.stats.bump("errors")
            log.error(
                "sqs message failed, left for redelivery id=%s error=%s",
                mid,
                type(err).__name__,
                exc_info=True,
            )
            return False
        self.stats.bump("handled")
        return True

    async def _delete(self, messages: list[dict[str, Any]]) -> None:
        """DeleteMessageBatch; entries reported Failed (or not reported) are retried."""
        pending = {str(i): str(m["ReceiptHandle"]) for i, m in enumerate(messages)}
        for attempt in range(1, DELETE_ATTEMPTS + 1):
            try:
                response = await self._client.delete_message_batch(
                    QueueUrl=self.queue_url,
                    Entries=[{"Id": k, "ReceiptHandle": v} for k, v in pending.items()],
                )
            except Exception as err:
                log.warning("sqs delete batch failed attempt=%s error=%s", attempt, err)
                response = {}
            for entry in response.get("Successful", []):
                if pending.pop(str(entry.get("Id")), None) is not None:
                    self.stats.bump("deleted")
            if not pending:
                return
            failed = response.get("Failed", [])
            self.stats.bump("delete_retries")
            log.warning(
                "sqs delete incomplete attempt=%s pending=%s codes=%s",
                attempt,
                len(pending),
                sorted({str(f.get("Code")) for f in failed}),
            )
            if attempt < DELETE_ATTEMPTS:
                await asyncio.sleep(min(2.0, 0.1 * 2 ** (attempt - 1)))
        log.error(
            "sqs delete gave up on %s message(s); they will be redelivered and applied "
            "again (idempotent)",
            len(pending),
        )
