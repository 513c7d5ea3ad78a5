"""Counters of what the SQS consumer did, awaitable (logs, tests, the lead's debugging)."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Callable


class ConsumerStats:
    """``received``, ``handled``, ``deleted``, ``skipped``, ``invalid``, ``unavailable``,
    ``errors``, ``delete_retries``; ``await wait_until(pred)`` wakes on every change."""

    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()
        self._changed = asyncio.Event()

    def __getitem__(self, name: str) -> int:
        return self.counts[name]

    def bump(self, name: str, n: int = 1) -> None:
        self.counts[name] += n
        changed, self._changed = self._changed, asyncio.Event()
        changed.set()

    async def wait_until(self, predicate: Callable[[ConsumerStats], bool]) -> None:
        """Return once ``predicate(self)`` holds (callers bound it with asyncio.timeout)."""
        while not predicate(self):
            await self._changed.wait()
