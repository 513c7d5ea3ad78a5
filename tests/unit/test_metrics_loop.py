"""metrics.py: the lock-free collectors of the per-message metrics count exactly what
prometheus_client's own would."""

from __future__ import annotations

import math

import pytest
from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest

from orderchat.metrics import LoopCounter, LoopHistogram, Metrics

BUCKETS = (0.001, 0.01, 0.1, 1.0)
AMOUNTS = [0.0, 0.0005, 0.001, 0.0010001, 0.05, 0.1, 0.5, 1.0, 3.0, -1.0, math.inf, math.nan]


def exposition(registry: CollectorRegistry) -> list[str]:
    """The samples, without the _created lines (they hold the creation time)."""
    text = generate_latest(registry).decode()
    return [line for line in text.splitlines() if "_created" not in line]


def test_loop_histogram_is_prometheus_histogram() -> None:
    ours, theirs = CollectorRegistry(), CollectorRegistry()
    a = LoopHistogram("h_seconds", "h", buckets=BUCKETS, registry=ours)
    b = Histogram("h_seconds", "h", buckets=BUCKETS, registry=theirs)
    for amount in AMOUNTS:
        a.observe(amount)
        b.observe(amount)
    assert exposition(ours) == exposition(theirs)


def test_loop_counter_is_prometheus_counter() -> None:
    ours, theirs = CollectorRegistry(), CollectorRegistry()
    a = LoopCounter("c_total", "c", ["outcome"], registry=ours)
    b = Counter("c_total", "c", ["outcome"], registry=theirs)
    for outcome, amount in [("stored", 1), ("duplicate", 1), ("stored", 2.5), ("stored", 0)]:
        a.labels(outcome=outcome).inc(amount)
        b.labels(outcome=outcome).inc(amount)
    a.labels("positional").inc()
    b.labels("positional").inc()
    assert exposition(ours) == exposition(theirs)
    assert a.labels(outcome="stored") is a.labels(outcome="stored")
    assert a.labels(outcome="stored") is a.labels("stored")


def test_loop_counter_keeps_prometheus_errors() -> None:
    c = LoopCounter("e_total", "e", ["outcome"], registry=CollectorRegistry())
    with pytest.raises(ValueError):
        c.inc()  # the parent of labelled children
    with pytest.raises(ValueError):
        c.labels(outcome="x").inc(-1)
    with pytest.raises(ValueError):
        c.labels(wrong="x")
    plain = LoopCounter("p_total", "p", registry=CollectorRegistry())
    plain.inc(3)
    assert plain._value.get() == 3


def test_removed_children_start_again_from_zero() -> None:
    registry = CollectorRegistry()
    c = LoopCounter("r_total", "r", ["outcome"], registry=registry)
    c.labels(outcome="a").inc(5)
    c.remove("a")
    c.labels(outcome="a").inc()
    assert registry.get_sample_value("r_total", {"outcome": "a"}) == 1.0
    c.clear()
    c.labels(outcome="a").inc()
    assert registry.get_sample_value("r_total", {"outcome": "a"}) == 1.0


def test_app_metrics_use_them_for_the_per_message_collectors() -> None:
    m = Metrics()
    assert isinstance(m.messages_total, LoopCounter)
    assert isinstance(m.message_store_seconds, LoopHistogram)
    assert isinstance(m.message_fanout_seconds, LoopHistogram)
    m.messages_total.labels(outcome="stored").inc()
    m.message_store_seconds.observe(0.003)
    assert m.registry.get_sample_value("orderchat_messages_total", {"outcome": "stored"}) == 1
    assert (
        m.registry.get_sample_value("orderchat_message_store_seconds_bucket", {"le": "0.005"}) == 1
    )
