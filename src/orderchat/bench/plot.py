"""`--plot FILE.png`: latency over time (p50/p99 per second) and the percentile curve on
the HdrHistogram-style ``1/(1-q)`` axis; e2e and ack latency of a load run, handshake
latency of an idle run. Needs matplotlib (``pip install 'orderchat[bench]'``)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from orderchat.bench.load import LoadResult
from orderchat.bench.stats import percentile_curve, timeline
from orderchat.bench.worker import OpenResult

# (label, due times in s, latencies in ms, line width)
Series = tuple[str, Sequence[float], Sequence[float], float]


def require_matplotlib() -> Any:
    try:
        import matplotlib

        matplotlib.use("Agg")  # files only, never a window
        import matplotlib.pyplot as plt
    except ImportError:
        raise SystemExit(
            "orderchat bench: --plot needs matplotlib: pip install 'orderchat[bench]'"
        ) from None
    return plt


def plot(load: LoadResult | None, opened: OpenResult, path: str) -> None:
    if load is None:
        series: list[Series] = [("handshake", opened.handshake_t, opened.handshake_ms, 1.8)]
        _draw(series, "connection due time, s after the first", path)
        return
    # ack first and thinner: e2e (the figure that matters) stays visible on top of it
    series = [
        ("ack", load.ack_t, load.ack_ms, 0.8),
        ("e2e (send -> newMessage)", load.e2e_t, load.e2e_ms, 1.8),
    ]
    _draw(series, "scheduled send time, s after start", path)


def _draw(series: list[Series], x_label: str, path: str) -> None:
    plt = require_matplotlib()
    fig, (over_time, curve) = plt.subplots(2, 1, figsize=(10, 9))
    most = 2
    for name, times, values, width in series:
        most = max(most, len(values))
        rows = timeline(times, values)
        t = [row["t"] for row in rows]
        over_time.plot(t, [row["p50"] for row in rows], label=f"{name} p50", linewidth=width)
        over_time.plot(
            t, [row["p99"] for row in rows], label=f"{name} p99", linestyle="--", linewidth=width
        )
        points = percentile_curve(values)
        if points:
            curve.plot(
                [1 / (1 - q) for q, _ in points],
                [v for _, v in points],
                label=name,
                linewidth=width,
            )
    over_time.set_xlabel(x_label)
    over_time.set_ylabel("latency, ms")
    over_time.set_yscale("log")
    # plain numbers on the log axis ("4", "6"), not matplotlib's default "4x10^0"
    plain = plt.FuncFormatter(lambda value, _pos: f"{value:g}")
    over_time.yaxis.set_major_formatter(plain)
    over_time.yaxis.set_minor_formatter(plain)
    over_time.set_title("latency per second")
    over_time.legend()
    over_time.grid(True, which="both", alpha=0.3)
    curve.set_xscale("log")
    curve.set_xlabel("percentile")
    curve.set_ylabel("latency, ms")
    curve.set_title("latency by percentile")
    ticks = [q for q in (0.0, 0.5, 0.9, 0.99, 0.999, 0.9999, 0.99999) if 1 / (1 - q) <= 2 * most]
    curve.set_xticks([1 / (1 - q) for q in ticks], [f"{100 * q:g}%" for q in ticks])
    curve.legend()
    curve.grid(True, which="both", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, format="png")
    plt.close(fig)
