"""Group commit: the appends waiting at one moment, across rooms, stored in ONE commit.

One writer per store, with at most ``max_inflight`` batches committing at once. The first
append after a quiet spell goes at once, alone; while commits are in flight the next
appends queue, and when one returns (or a slot is free) they all go together as the next
batch. So a busy store batches by itself and an idle one adds no delay (no timer). Each
append is answered only once the commit that stored it has returned.

A batch never holds two appends with the same (room, sender, clientMessageId), and never
one whose key is in a batch still in flight: the later one waits for a later batch, where
it is found as the duplicate it is. Two batches in flight that share a room are ordered
by the database (the batch statement locks its rooms, in order_id order, before it takes
their seqs): a room's seqs stay consecutive, and a higher seq never has an earlier
timestamp.
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
Item = tuple[Message, "asyncio.Future[Outcome]"]
Key = tuple[object, object, str]

MAX_BATCH = 500


class GroupWriter:
    def __init__(self, flush: Flush, max_batch: int = MAX_BATCH, max_inflight: int = 1) -> None:
        self._flush = flush
        self._max_batch = max_batch
        self._max_inflight = max_inflight
        self._queue: deque[Item] = deque()
        self._runners: set[asyncio.Task[None]] = set()
        self._inflight_keys: set[Key] = set()  # clientMessageId keys of batches in flight
        self.batches = 0  # commits made (for tests and the benchmark)

    async def write(self, msg: Message) -> tuple[int, datetime] | None:
        """Store ``msg`` in the next commit; its (seq, createdAt), or None (see Outcome)."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Outcome] = loop.create_future()
        self._queue.append((msg, future))
        if len(self._runners) < self._max_inflight:
            runner = loop.create_task(self._run(), name="store-group-writer")
            self._runners.add(runner)
        outcome = await future
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    def _take(self) -> tuple[list[Item], set[Key]]:
        batch: list[Item] = []
        later: list[Item] = []
        keys: set[Key] = set()
        inflight = self._inflight_keys
        while self._queue and len(batch) < self._max_batch:
            item = self._queue.popleft()
            msg, future = item
            if future.done():  # its sender stopped waiting before it was stored: skip it
                continue
            if msg.client_message_id is not None:
                key = (msg.order_id, msg.sender_id, msg.client_message_id)
                if key in keys or key in inflight:
                    later.append(item)
                    continue
                keys.add(key)
            batch.append(item)
        self._queue.extendleft(reversed(later))
        return batch, keys

    async def _run(self) -> None:
        """One slot: commit batches while there is work this slot may take."""
        me = asyncio.current_task()
        try:
            while self._queue:
                batch, keys = self._take()
                if not batch:  # only appends waiting on a key in flight: its slot takes them
                    return
                self._inflight_keys |= keys
                try:
                    outcomes = await self._flush([msg for msg, _ in batch])
                except Exception as error:  # the commit failed: none of the batch is acked
                    outcomes = [error] * len(batch)
                except BaseException:  # cancelled (shutdown): nobody may wait forever
                    for _, future in batch:
                        if not future.done():
                            future.set_exception(UnavailableError("store closing; retry"))
                    raise
                finally:
                    self._inflight_keys -= keys
                self.batches += 1
                for (_, future), outcome in zip(batch, outcomes, strict=True):
                    if not future.done():
                        future.set_result(outcome)
        finally:
            if me is not None:
                self._runners.discard(me)
            if not self._runners:  # the last slot: what is queued has nobody else
                while self._queue:
                    _, future = self._queue.popleft()
                    if not future.done():
                        future.set_exception(UnavailableError("store closing; retry"))
