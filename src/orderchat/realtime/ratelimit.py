"""Send rate and connection limits: a token bucket (``rate`` tokens a second, at most
``burst`` saved up) and the per-user limits of one instance."""

from __future__ import annotations

import time
import uuid


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


class UserLimits:
    """One instance's per-user limits: connection slots per room (the 429 of the
    handshake) and one send bucket per user, shared by all of the user's connections."""

    def __init__(self, max_connections: int, rate: float, burst: int) -> None:
        self._max_connections = max_connections
        self._rate = rate
        self._burst = burst
        self._slots: dict[tuple[uuid.UUID, str], int] = {}
        self._buckets: dict[str, tuple[TokenBucket, int]] = {}  # bucket, connections

    def reserve(self, order_id: uuid.UUID, user_id: str) -> bool:
        """Take one of the user's connection slots to the room, if one is free."""
        key = (order_id, user_id)
        held = self._slots.get(key, 0)
        if held >= self._max_connections:
            return False
        self._slots[key] = held + 1
        return True

    def release(self, order_id: uuid.UUID, user_id: str) -> None:
        key = (order_id, user_id)
        held = self._slots.get(key, 0) - 1
        if held > 0:
            self._slots[key] = held
        else:
            self._slots.pop(key, None)

    def joined(self, user_id: str) -> None:
        """A connection of the user opened: it shares the user's send bucket."""
        bucket, users = self._buckets.get(user_id, (None, 0))
        if bucket is None:
            bucket = TokenBucket(self._rate, self._burst)
        self._buckets[user_id] = (bucket, users + 1)

    def left(self, user_id: str) -> None:
        bucket, users = self._buckets.get(user_id, (None, 0))
        if bucket is not None:
            if users > 1:
                self._buckets[user_id] = (bucket, users - 1)
            else:
                del self._buckets[user_id]

    def allow_send(self, user_id: str) -> bool:
        bucket, _ = self._buckets.get(user_id, (None, 0))
        return bucket is None or bucket.take()
