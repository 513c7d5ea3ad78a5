"""The bench's figures: nearest-rank percentiles, summaries, per-second buckets, the
percentile curve."""

from __future__ import annotations

import itertools
import math

from hypothesis import given
from hypothesis import strategies as st

from orderchat.bench.stats import percentile, percentile_curve, summary, timeline


def test_percentile_is_nearest_rank() -> None:
    ordered = [float(v) for v in range(1, 101)]  # 1..100
    assert percentile(ordered, 50) == 50
    assert percentile(ordered, 99) == 99
    assert percentile(ordered, 99.9) == 100
    assert percentile(ordered, 100) == 100
    assert percentile(ordered, 0) == 1
    assert percentile([7.0], 99.9) == 7
    assert math.isnan(percentile([], 50))


@given(st.lists(st.floats(min_value=0, max_value=1e6), min_size=1), st.floats(0, 100))
def test_percentile_is_a_sample_with_enough_below(values: list[float], p: float) -> None:
    ordered = sorted(values)
    value = percentile(ordered, p)
    assert value in ordered
    at_or_below = sum(1 for v in ordered if v <= value)
    assert at_or_below >= p / 100 * len(ordered)


def test_summary_keys_and_figures() -> None:
    figures = summary([5.0, 1.0, 3.0, 2.0, 4.0])
    assert list(figures) == ["n", "p50", "p95", "p99", "p99.9", "max", "mean"]
    assert figures["n"] == 5
    assert figures["p50"] == 3.0
    assert figures["p99"] == 5.0 and figures["max"] == 5.0
    assert figures["mean"] == 3.0
    empty = summary([])
    assert empty["n"] == 0 and empty["p50"] is None and empty["max"] is None


def test_timeline_groups_by_second_of_schedule() -> None:
    times = [0.1, 0.5, 0.9, 1.2, 3.7]
    values = [1.0, 2.0, 3.0, 10.0, 7.0]
    rows = timeline(times, values)
    assert [row["t"] for row in rows] == [0, 1, 3]  # no row for an empty second
    assert rows[0] == {"t": 0, "n": 3, "p50": 2.0, "p99": 3.0, "max": 3.0}
    assert rows[1]["n"] == 1 and rows[1]["max"] == 10.0


def test_percentile_curve_rises_to_the_tail() -> None:
    samples = [float(v) for v in range(1000)]
    curve = percentile_curve(samples, points=50)
    qs = [q for q, _ in curve]
    values = [v for _, v in curve]
    assert qs[0] == 0 and all(a < b for a, b in itertools.pairwise(qs))
    assert values == sorted(values)
    assert values[-1] == 999.0  # the last point is the largest sample
    assert percentile_curve([]) == []
