"""Every Prometheus collector of SPEC 8, in one place, on a registry of the app's own."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

_FAST = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)


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
        self.messages_total = Counter(
            "orderchat_messages_total", "sendMessage frames by outcome", ["outcome"], registry=r
        )
        self.message_store_seconds = Histogram(
            "orderchat_message_store_seconds",
            "Time to store one message",
            buckets=_FAST,
            registry=r,
        )
        self.message_fanout_seconds = Histogram(
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
        self.sqs_up = Gauge(
            "orderchat_sqs_consumer_up", "1 while the SQS consumer polls", registry=r
        )

    def render(self) -> bytes:
        return generate_latest(self.registry)
