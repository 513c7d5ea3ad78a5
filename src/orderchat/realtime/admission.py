"""Admission of WebSocket upgrades under a reconnect storm (issue 21): at most
``concurrency`` upgrades are between the token check and the room read at once, at most
``queue`` more wait for a turn, and past that an upgrade is answered at once with 503 and
``Retry-After`` instead of queueing without bound (where it would wait for a database
connection until the pool times out, then fail anyway, while the event loop falls behind
everyone already connected)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager


class HandshakeGate:
    def __init__(self, concurrency: int, queue: int, retry_after: int) -> None:
        self._slots = asyncio.Semaphore(concurrency)
        self.queue = queue
        self.retry_after = retry_after  # seconds, the 503's Retry-After
        self.waiting = 0
        self.shed = 0  # upgrades refused so far

    def full(self) -> bool:
        """No free slot and the queue is full: shed this upgrade."""
        if self._slots.locked() and self.waiting >= self.queue:
            self.shed += 1
            return True
        return False

    @asynccontextmanager
    async def turn(self) -> AsyncIterator[None]:
        """Hold one slot (after waiting in the queue) for the checks of one upgrade."""
        self.waiting += 1
        try:
            await self._slots.acquire()
        finally:
            self.waiting -= 1
        try:
            yield
        finally:
            self._slots.release()
