"""A token bucket per sender: ``rate`` tokens a second, at most ``burst`` saved up."""

from __future__ import annotations

import time


class TokenBucket:
    __slots__ = ("_at", "_burst", "_rate", "_tokens")  # one per connection: no __dict__

    def __init__(self, rate: float, burst: int) -> None:
        self._rate = rate
        self._burst = float(burst)
        self._tokens = float(burst)
        self._at = time.monotonic()

    def take(self, now: float | None = None) -> bool:
        """Spend one token if there is one."""
        now = time.monotonic() if now is None else now
        self._tokens = min(self._burst, self._tokens + (now - self._at) * self._rate)
        self._at = now
        if self._tokens >= 1.0:
            self._tokens -= 1.0
            return True
        return False
