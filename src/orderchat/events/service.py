"""EventService: apply one order event to its room and tell live connections what changed."""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any, Literal

from orderchat.domain.events import known_event_type, parse_event
from orderchat.domain.messages import utcnow_ms
from orderchat.domain.rooms import RoomChanges
from orderchat.errors import InvalidEventError
from orderchat.metrics import Metrics
from orderchat.store import Store

log = logging.getLogger("orderchat.events")

Outcome = Literal["applied", "duplicate", "ignored"]
RoomListener = Callable[[uuid.UUID, RoomChanges, datetime | None], Awaitable[None]]


async def _no_listener(_order_id: uuid.UUID, _changes: RoomChanges, _at: datetime | None) -> None:
    return None


class EventService:
    def __init__(self, store: Store, metrics: Metrics) -> None:
        self._store = store
        self._metrics = metrics
        self.on_room_changed: RoomListener = _no_listener

    async def handle(self, event_type: object, payload: Any, *, source: str) -> Outcome:
        """Apply one event. InvalidEventError: nothing changed; UnavailableError: retry later."""
        started = time.perf_counter()
        if not isinstance(event_type, str) or not event_type:
            self._metrics.events_total.labels(type="unknown", outcome="invalid").inc()
            log.warning("event rejected source=%s reason=%s", source, "eventType missing")
            raise InvalidEventError("eventType: missing or not a string")
        if not known_event_type(event_type):
            self._metrics.events_total.labels(type="other", outcome="ignored").inc()
            log.info("event ignored source=%s type=%s", source, event_type[:64])
            return "ignored"
        try:
            event = parse_event(event_type, payload)
            # may also refuse an event that conflicts with the room's (a second accepted)
            applied = await self._store.rooms.apply_event(event, utcnow_ms())
        except InvalidEventError as err:
            self._metrics.events_total.labels(type=event_type, outcome="invalid").inc()
            log.warning(
                "event rejected source=%s type=%s reason=%s", source, event_type, err.message
            )
            raise
        outcome: Outcome = "applied" if applied.changed else "duplicate"
        self._metrics.events_total.labels(type=event_type, outcome=outcome).inc()
        self._metrics.event_processing_seconds.observe(time.perf_counter() - started)
        log.info("event %s source=%s type=%s order=%s", outcome, source, event_type, event.order_id)
        if applied.changes.any:
            await self.on_room_changed(event.order_id, applied.changes, applied.closed_at)
        return outcome
