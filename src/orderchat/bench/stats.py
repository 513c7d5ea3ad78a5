"""Latency figures from raw samples: percentiles, one-second buckets, the percentile curve.

Raw samples (``array('d')``) rather than a histogram: a run of 60 s at 5,000 msg/s is
under a million doubles (8 MB), sorting them is instant, and the percentiles are exact.
"""

from __future__ import annotations

import math
from array import array
from collections.abc import Sequence

PERCENTILES = (50.0, 95.0, 99.0, 99.9)


def percentile(ordered: Sequence[float], p: float) -> float:
    """Nearest-rank percentile of an ascending sequence (the value that ``p`` per cent of
    the samples are at or below); NaN when empty."""
    if not ordered:
        return math.nan
    rank = math.ceil(p / 100 * len(ordered))
    return ordered[min(len(ordered), max(rank, 1)) - 1]


def _key(p: float) -> str:
    return f"p{p:g}"


def summary(samples: Sequence[float]) -> dict[str, float | int | None]:
    """``{n, p50, p95, p99, p99.9, max, mean}`` in the samples' unit, rounded to 0.01;
    the figures are None when there is no sample."""
    ordered = sorted(samples)
    out: dict[str, float | int | None] = {"n": len(ordered)}
    for p in PERCENTILES:
        out[_key(p)] = round(percentile(ordered, p), 2) if ordered else None
    out["max"] = round(ordered[-1], 2) if ordered else None
    out["mean"] = round(math.fsum(ordered) / len(ordered), 2) if ordered else None
    return out


def timeline(
    times: Sequence[float], values: Sequence[float], bucket: float = 1.0
) -> list[dict[str, float | int]]:
    """Samples grouped by ``time // bucket`` (time: seconds since the start): for each
    bucket that has samples, ``{t, n, p50, p99, max}``."""
    groups: dict[int, array[float]] = {}
    for t, v in zip(times, values, strict=True):
        groups.setdefault(int(t // bucket), array("d")).append(v)
    rows: list[dict[str, float | int]] = []
    for key in sorted(groups):
        ordered = sorted(groups[key])
        rows.append(
            {
                "t": round(key * bucket, 3),
                "n": len(ordered),
                "p50": round(percentile(ordered, 50), 2),
                "p99": round(percentile(ordered, 99), 2),
                "max": round(ordered[-1], 2),
            }
        )
    return rows


def percentile_curve(samples: Sequence[float], points: int = 200) -> list[tuple[float, float]]:
    """``(q, value)`` pairs for an HdrHistogram-style plot: ``q`` from 0 towards 1 spaced
    evenly on the ``1/(1-q)`` scale, up to the last sample."""
    ordered = sorted(samples)
    if not ordered:
        return []
    n = len(ordered)
    top = math.log10(n)  # 1/(1-q) reaches n at the last sample
    curve: list[tuple[float, float]] = []
    for i in range(points + 1):
        q = 1 - 10 ** (-top * i / points)
        curve.append((q, percentile(ordered, q * 100)))
    curve[-1] = (curve[-1][0], ordered[-1])  # end on the largest sample whatever the rounding
    return curve
