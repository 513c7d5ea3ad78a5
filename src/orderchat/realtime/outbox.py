"""One connection's ordered outbox and its single writer task (SPEC 5.4).

The frames that carry a message (``newMessage``, ``messageAck``) go out in strictly
increasing ``seq`` with no gap and no duplicate:

- ``last`` is the seq of the last message frame queued for the client (its starting
  point is ``connected.lastSeq``);
- a frame for ``seq == last + 1`` is queued at once, then any held successors;
- a frame for ``seq <= last`` is dropped (already delivered);
- a frame for ``seq > last + 1`` is held, and the hole is filled: first by waiting
  briefly while a local send to the room is in flight (it will most likely produce the
  missing seq), then from the store. The store never has holes below a committed seq
  (seq is assigned under the room row lock), so one read fills the hole for good.

The sender's own ``messageAck`` travels through the same sequence, so an ack for seq 6
never overtakes ``newMessage`` 5. Where both an ack and a ``newMessage`` exist for one
seq (a gap fill read the sender's own message), the ack wins. A fill and the
connection's own send never overlap (``send_lock``): a fill therefore never reads the
connection's in-flight message and delivers it as ``newMessage`` in place of its ack.

A *duplicate* ack (``duplicate: true``, the answer to a retried ``clientMessageId``)
for a seq already delivered on this connection is the one frame sent outside the
sequence: the client must get an answer to its retry, and the message itself already
went out in order. A duplicate ack for a seq not yet delivered is the seq's frame in
the sequence like any other.

Everything is queued for one writer task, so a slow client never blocks the others; a
client whose queue exceeds ``max_queue`` frames is closed with 1008.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from orderchat.errors import UnavailableError
from orderchat.lean import LeanEvent

log = logging.getLogger("orderchat.realtime")

# How long a hole may wait for a local in-flight send before it is read from the store.
HOLE_WAIT_SECONDS = 0.25
FILL_RETRY_MAX_SECONDS = 5.0

# fetch(after_seq, limit) -> up to ``limit`` (seq, newMessage frame) after ``after_seq``
Fetch = Callable[[int, int], Awaitable[list[tuple[int, str]]]]
FETCH_LIMIT = 500


@dataclass(frozen=True, slots=True)
class Close:
    code: int
    reason: str


class Outbox:
    def __init__(
        self,
        send_text: Callable[[str], Awaitable[None]],
        close: Callable[[int, str], Awaitable[None]],
        *,
        fetch: Fetch,
        inflight: Callable[[], int],
        max_queue: int = 2000,
        max_held: int = 5000,
    ) -> None:
        self._send_text = send_text
        self._close = close
        self._fetch = fetch
        self._inflight = inflight
        self._max_queue = max_queue
        self._max_held = max_held
        self._fetch_limit = max(1, min(FETCH_LIMIT, max_queue // 4))
        self.last: int | None = None  # None until start(): everything is held before
        self._want = 0  # the highest seq known to exist in the room
        self._held: dict[int, str] = {}
        self._pre: list[str] = []  # non-message frames offered before start()
        self._queue: deque[str | Close] = deque()
        # LeanEvent: asyncio.Event allocates an empty deque (~0.7 KiB) each, per connection
        self._wake = LeanEvent()
        self._drained = LeanEvent()  # the queue is at most half full
        self._drained.set()
        self._progress = LeanEvent()
        self.send_lock = asyncio.Lock()
        self._fill_task: asyncio.Task[None] | None = None
        self._writer = asyncio.get_running_loop().create_task(self._write())
        self.closing: Close | None = None  # set once a close is queued
        self.done = LeanEvent()  # the writer has finished

    # --- the message sequence -------------------------------------------------------

    def start(self, connected: str, start_seq: int, known_last: int) -> None:
        """Queue ``connected`` first, then deliver every seq after ``start_seq``."""
        self._push(connected)
        for frame in self._pre:
            self._push(frame)
        self._pre.clear()
        self.last = start_seq
        self._held = {s: f for s, f in self._held.items() if s > start_seq}
        self.expect(known_last)

    def expect(self, seq: int) -> None:
        """Messages up to ``seq`` exist: make sure they are delivered."""
        self._want = max(self._want, seq)
        self._flush()

    def offer(self, seq: int, frame: str, *, ack: bool = False, duplicate: bool = False) -> None:
        if self.closing is not None:
            return
        if self.last is not None and seq <= self.last:
            if ack and duplicate:
                self._push(frame)  # the out-of-sequence answer to a retry (see above)
            elif ack:
                log.warning("ack for seq %d arrived after that seq was delivered", seq)
            return
        if ack or seq not in self._held:
            self._held[seq] = frame
        self._flush()

    def poke(self) -> None:
        """Something happened that may fill a hole (a local send finished)."""
        self._progress.set()

    def _flush(self) -> None:
        if self.last is None:
            return
        advanced = False
        while (frame := self._held.pop(self.last + 1, None)) is not None:
            self.last += 1
            advanced = True
            self._push(frame)
        if advanced:
            self._progress.set()
        if len(self._held) > self._max_held:
            self.close(1013, "cannot keep up; reconnect with lastSeq")
            return
        if self._needs_fill() and (self._fill_task is None or self._fill_task.done()):
            self._fill_task = asyncio.get_running_loop().create_task(self._fill())

    def _needs_fill(self) -> bool:
        if self.last is None or self.closing is not None:
            return False
        return max(self._want, max(self._held, default=0)) > self.last

    async def _fill(self) -> None:
        loop = asyncio.get_running_loop()
        deadline: float | None = None
        mark = self.last
        backoff = 0.1
        while self._needs_fill():
            assert self.last is not None
            if self.last != mark:
                deadline, mark = None, self.last  # the hole moved: a fresh wait
            if self._inflight() > 0:
                now = loop.time()
                deadline = deadline if deadline is not None else now + HOLE_WAIT_SECONDS
                if now < deadline:
                    self._progress.clear()
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._progress.wait(), deadline - now)
                    continue
            if len(self._queue) > self._max_queue // 2:
                # a long backlog: read more only as fast as the client takes it
                self._drained.clear()
                await self._drained.wait()
                continue
            try:
                async with self.send_lock:
                    frames = await self._fetch(self.last, self._fetch_limit)
            except UnavailableError:
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, FILL_RETRY_MAX_SECONDS)
                continue
            except Exception:
                log.exception("gap fill failed")
                self.close(1011, "internal error")
                return
            backoff = 0.1
            if not frames:
                # Nothing newer in the store: what we were told exists does not (yet).
                self._want = self.last
                if not self._held:
                    return
                await asyncio.sleep(backoff)
                continue
            for seq, frame in frames:
                self.offer(seq, frame)

    # --- the writer -----------------------------------------------------------------

    def push(self, frame: str) -> None:
        """Queue a frame that carries no message (roomClosed, typing, error...)."""
        if self.closing is not None:
            return
        if self.last is None:
            self._pre.append(frame)
        else:
            self._push(frame)

    def _push(self, frame: str) -> None:
        if self.closing is not None:
            return
        if len(self._queue) >= self._max_queue:
            self._queue.clear()
            self.close(1008, "client too slow")
            return
        self._queue.append(frame)
        self._wake.set()

    def close(self, code: int, reason: str) -> None:
        """Close after the frames already queued (acks are flushed first)."""
        if self.closing is not None:
            return
        self.closing = Close(code, reason)
        self._queue.append(self.closing)
        self._wake.set()
        if self._fill_task is not None:
            self._fill_task.cancel()

    async def _write(self) -> None:
        try:
            while True:
                while not self._queue:
                    self._wake.clear()
                    await self._wake.wait()
                item = self._queue.popleft()
                if len(self._queue) <= self._max_queue // 2:
                    self._drained.set()
                if isinstance(item, Close):
                    await self._close(item.code, item.reason)
                    return
                await self._send_text(item)
                del item  # not kept while idle (e.g. the ~0.5 KiB `connected` frame)
        except asyncio.CancelledError:
            raise
        except Exception as error:  # the client went away
            log.debug("writer stopped: %s", type(error).__name__)
        finally:
            if self.closing is None:
                self.closing = Close(1006, "gone")
            if self._fill_task is not None:
                self._fill_task.cancel()
            self.done.set()

    async def finish(self, grace: float) -> None:
        """Stop the writer: after a close we queued, let it send that close (for up to
        ``grace`` seconds); after the client left, there is nothing more to send."""
        if self._fill_task is not None:
            self._fill_task.cancel()
        if self.closing is not None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.shield(self.done.wait()), grace)
        if not self._writer.done():
            self._writer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._writer
        if self.closing is None:
            self.closing = Close(1006, "gone")
