"""Every Prometheus collector of SPEC 8, in one place, on a registry of the app's own."""

from __future__ import annotations

import time
from bisect import bisect_left
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

_FAST = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)


# The collectors counted once or more per message are written only by the event loop's
# thread: their values take no lock (prometheus_client's take a threading.Lock per
# increment, and ``labels()`` another). A scrape from another thread reads a float,
# which is atomic; only concurrent writers would need the lock, and there are none.
class _LoopValue:
    """prometheus_client's value interface (values.MutexValue) without the mutex."""

    _multiprocess = False

    def __init__(self, *_args: Any, **_kwargs: Any) -> None:
        self._value = 0.0
        self._exemplar: Any = None

    def inc(self, amount: float) -> None:
        self._value += amount

    def set(self, value: float, timestamp: float | None = None) -> None:
        self._value = value

    def set_exemplar(self, exemplar: Any) -> None:
        self._exemplar = exemplar

    def get(self) -> float:
        return self._value

    def get_exemplar(self) -> Any:
        return self._exemplar


class LoopCounter(Counter):
    """A Counter for one writing thread (see _LoopValue); ``labels(name=value)`` of a
    child made before is one dict lookup."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self._known: dict[tuple[tuple[str, object], ...], LoopCounter] = {}
        super().__init__(*args, **kwargs)

    def _metric_init(self) -> None:  # a child, or a counter without labels
        self._value: Any = _LoopValue()
        self._created = time.time()

    def labels(self, *labelvalues: object, **labelkwargs: object) -> LoopCounter:
        if labelvalues or not labelkwargs:
            return super().labels(*labelvalues, **labelkwargs)
        key = tuple(labelkwargs.items())
        child = self._known.get(key)
        if child is None:
            child = self._known[key] = super().labels(**labelkwargs)
        return child

    def inc(self, amount: float = 1, exemplar: dict[str, str] | None = None) -> None:
        if exemplar or amount < 0 or (self._labelnames and not self._labelvalues):
            super().inc(amount, exemplar)  # its checks and errors, as before
            return
        self._value._value += amount

    def remove(self, *labelvalues: Any) -> None:
        self._known.clear()
        super().remove(*labelvalues)

    def clear(self) -> None:
        self._known.clear()
        super().clear()


class LoopHistogram(Histogram):
    """A Histogram for one writing thread (see _LoopValue); its bucket found by bisection."""

    def _metric_init(self) -> None:
        super()._metric_init()
        self._sum: Any = _LoopValue()
        self._buckets: Any = [_LoopValue() for _ in self._upper_bounds]

    def observe(self, amount: float, exemplar: dict[str, str] | None = None) -> None:
        if exemplar or self._labelnames:  # the parent of labelled children: as before
            super().observe(amount, exemplar)
            return
        self._sum._value += amount
        i = bisect_left(self._upper_bounds, amount)
        if i < len(self._upper_bounds) and amount <= self._upper_bounds[i]:  # not NaN
            self._buckets[i]._value += 1


class Metrics:
    def __init__(self) -> None:
        r = self.registry = CollectorRegistry()
        self.connections_active = Gauge(
            "orderchat_websocket_connections_active", "Open WebSocket connections", registry=r
        )
        self.connections_total = Counter(
            "orderchat_websocket_connections_total",
            "WebSocket upgrade attempts by outcome",
            ["outcome"],
            registry=r,
        )
        self.messages_total = LoopCounter(
            "orderchat_messages_total", "sendMessage frames by outcome", ["outcome"], registry=r
        )
        self.message_store_seconds = LoopHistogram(
            "orderchat_message_store_seconds",
            "Time to store one message",
            buckets=_FAST,
            registry=r,
        )
        self.message_fanout_seconds = LoopHistogram(
            "orderchat_message_fanout_seconds",
            "Time from store to hand-off to the fan-out",
            buckets=_FAST,
            registry=r,
        )
        self.events_total = Counter(
            "orderchat_events_total",
            "Order events by type and outcome",
            ["type", "outcome"],
            registry=r,
        )
        self.event_processing_seconds = Histogram(
            "orderchat_event_processing_seconds",
            "Time to apply one order event",
            buckets=_FAST,
            registry=r,
        )
        self.backplane_reconnects_total = Counter(
            "orderchat_backplane_reconnects_total", "Fan-out (Redis) reconnections", registry=r
        )
        self.backplane_up = Gauge(
            "orderchat_backplane_up", "1 while the fan-out listener is connected", registry=r
        )
        self.contact_details_masked_total = Counter(
            "orderchat_contact_details_masked_total",
            "Phone numbers and e-mail addresses masked in messages (SPEC 13)",
            ["kind"],
            registry=r,
        )
        self.sqs_up = Gauge(
            "orderchat_sqs_consumer_up", "1 while the SQS consumer polls", registry=r
        )

    def render(self) -> bytes:
        return generate_latest(self.registry)
