"""The send half of the Redis fan-out: a bounded queue drained by one task, never blocking.

``publish`` appends to a deque (dropping the oldest when full) and returns at once; the
task sends what is queued in batches (one script call each, below) over a client with
short socket timeouts.
A batch that failed on a lost or timed-out connection goes back in front of the queue (as
much as fits) and is retried with capped backoff, so a peer whose own link stayed up
still gets it. What is dropped is fine: receivers fill seq holes from the store.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections import deque

from redis.asyncio import Redis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

log = logging.getLogger("orderchat.fanout")

# A batch is ONE command: a script that publishes each (channel, payload) pair of ARGV.
# A pipeline of PUBLISH costs ~12 us of CPU per payload here (redis-py reads and parses
# every reply in Python, each under its own timeout); the script ~3-4 us (one reply).
# redis-py sends it by EVALSHA and loads it again when the server lost it (NOSCRIPT).
_PUBLISH_ALL = """
for i = 1, #ARGV, 2 do
    redis.call('PUBLISH', ARGV[i], ARGV[i + 1])
end
return #ARGV / 2
"""

# Failures worth a retry of the same batch (a lost or timed-out connection).
_TRANSIENT = (RedisConnectionError, RedisTimeoutError, OSError, TimeoutError)


class RedisPublisher:
    def __init__(
        self,
        client: Redis,
        *,
        queue_size: int = 10_000,
        batch_size: int = 500,
        backoff_base: float = 0.1,
        backoff_cap: float = 5.0,
        flush_timeout: float = 1.0,
    ) -> None:
        self._client = client
        self._publish_all = client.register_script(_PUBLISH_ALL)
        self._queue: deque[tuple[bytes, bytes]] = deque(maxlen=queue_size)
        self._batch_size = batch_size
        self._backoff_base = backoff_base
        self._backoff_cap = backoff_cap
        self._flush_timeout = flush_timeout
        self._wake = asyncio.Event()
        self._closing = False
        self._task: asyncio.Task[None] | None = None
        self.dropped = 0  # payloads given up on (queue full, or a non-transient error)
        self.failures = 0  # failed batch sends

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="redis-fanout-sender")

    async def close(self) -> None:
        """Flush what is queued for at most ``flush_timeout``, then stop."""
        self._closing = True
        self._wake.set()
        task, self._task = self._task, None
        if task is None:
            return
        with contextlib.suppress(TimeoutError, asyncio.CancelledError):
            await asyncio.wait_for(asyncio.shield(task), self._flush_timeout)
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

    def publish(self, channel: bytes, payload: bytes) -> None:
        if self._closing:
            return
        if len(self._queue) == self._queue.maxlen:
            self.dropped += 1
        self._queue.append((channel, payload))
        self._wake.set()

    async def _run(self) -> None:
        failures = 0
        while True:
            if not self._queue:
                if self._closing:
                    return
                self._wake.clear()
                await self._wake.wait()
                continue
            batch = [self._queue.popleft() for _ in range(min(self._batch_size, len(self._queue)))]
            try:
                await self._publish_all(keys=[], args=[x for pair in batch for x in pair])
                failures = 0
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # the send path must never die
                self.failures += 1
                kept = self._requeue(batch) if isinstance(exc, _TRANSIENT) else 0
                self.dropped += len(batch) - kept
                if failures == 0:
                    log.warning(
                        "redis publish failed (%d kept for retry, %d dropped): %s",
                        kept,
                        len(batch) - kept,
                        type(exc).__name__ + (f": {exc}" if str(exc) else ""),
                    )
                if self._closing:
                    return
                delay = min(self._backoff_cap, self._backoff_base * 2**failures)
                failures = min(failures + 1, 30)
                await asyncio.sleep(delay * random.uniform(0.5, 1.0))

    def _requeue(self, batch: list[tuple[bytes, bytes]]) -> int:
        """Put a failed batch back in front, as much as fits: the newest of it is kept."""
        space = (self._queue.maxlen or 0) - len(self._queue)
        keep = batch[len(batch) - space :] if space > 0 else []
        self._queue.extendleft(reversed(keep))
        return len(keep)
