"""Group commit: the appends waiting at one moment, across rooms, stored in ONE commit.

One writer per store. The first append after a quiet spell goes at once, alone; while its
commit is in flight the next appends queue, and when it returns they all go together as
the next batch. So a busy store batches by itself and an idle one adds no delay (no
timer). Each append is answered only once the commit that stored it has returned.

A batch never holds two appends with the same (room, sender, clientMessageId): the later
one waits for the next batch, where it is found as the duplicate it is.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Awaitable, Callable
from datetime import datetime

from orderchat.domain.messages import Message
from orderchat.errors import UnavailableError

# what a batch answers for each append: its (seq, createdAt); None when the room was not
# open to it (closed, absent, or the message a duplicate); or the exception for that one
Outcome = tuple[int, datetime] | None | Exception
Flush = Callable[[list[Message]], Awaitable[list[Outcome]]]

MAX_BATCH = 500


class GroupWriter:
    def __init__(self, flush: Flush, max_batch: int = MAX_BATCH) -> None:
        self._flush = flush
        self._max_batch = max_batch
        self._queue: deque[tuple[Message, asyncio.Future[Outcome]]] = deque()
        self._task: asyncio.Task[None] | None = None
        self.batches = 0  # commits made (for tests and the benchmark)

    async def write(self, msg: Message) -> tuple[int, datetime] | None:
        """Store ``msg`` in the next commit; its (seq, createdAt), or None (see Outcome)."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Outcome] = loop.create_future()
        self._queue.append((msg, future))
        if self._task is None:
            self._task = loop.create_task(self._run(), name="store-group-writer")
        outcome = await future
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    def _take(self) -> list[tuple[Message, asyncio.Future[Outcome]]]:
        batch: list[tuple[Message, asyncio.Future[Outcome]]] = []
        later: list[tuple[Message, asyncio.Future[Outcome]]] = []
        keys: set[tuple[object, object, str]] = set()
        while self._queue and len(batch) < self._max_batch:
            item = self._queue.popleft()
            msg, future = item
            if future.done():  # its sender stopped waiting before it was stored: skip it
                continue
            if msg.client_message_id is not None:
                key = (msg.order_id, msg.sender_id, msg.client_message_id)
                if key in keys:
                    later.append(item)
                    continue
                keys.add(key)
            batch.append(item)
        self._queue.extendleft(reversed(later))
        return batch

    async def _run(self) -> None:
        try:
            while self._queue:
                batch = self._take()
                if not batch:
                    continue
                try:
                    outcomes = await self._flush([msg for msg, _ in batch])
                except Exception as error:  # the commit failed: none of the batch is acked
                    outcomes = [error] * len(batch)
                except BaseException:  # cancelled (shutdown): nobody may wait forever
                    for _, future in batch:
                        if not future.done():
                            future.set_exception(UnavailableError("store closing; retry"))
                    raise
                self.batches += 1
                for (_, future), outcome in zip(batch, outcomes, strict=True):
                    if not future.done():
                        future.set_result(outcome)
        finally:
            self._task = None
            while self._queue:
                _, future = self._queue.popleft()
                if not future.done():
                    future.set_exception(UnavailableError("store closing; retry"))
