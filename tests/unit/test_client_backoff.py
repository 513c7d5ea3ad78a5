"""orderchat.client's reconnection delays: exponential, capped, jittered."""

from __future__ import annotations

from orderchat.client import backoff_delay


def test_backoff_doubles_up_to_the_cap_with_jitter() -> None:
    for attempt, ceiling in [(1, 0.2), (2, 0.4), (3, 0.8), (6, 6.4), (7, 10.0), (30, 10.0)]:
        delays = {backoff_delay(attempt, 0.2, 10.0) for _ in range(200)}
        assert all(ceiling / 2 <= d <= ceiling for d in delays), (attempt, delays)
        assert len(delays) > 100  # jittered: clients dropped together spread out
