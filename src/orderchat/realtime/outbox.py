"""One connection's ordered outbox (SPEC 5.4): frames go to the socket in order.

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

Writing: a frame in order is written to the socket at once (``Wire.send_text``; the
transport buffers it, no task per connection). While the socket's buffer is full
(``pause``/``resume``, from the transport's flow control) frames wait in a queue, so a
slow client never blocks the others; a client whose queue exceeds ``max_queue`` frames
is closed with 1008.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Protocol

from orderchat.errors import UnavailableError
from orderchat.lean import LeanEvent

log = logging.getLogger("orderchat.realtime")

# How long a hole may wait for a local in-flight send before it is read from the store.
HOLE_WAIT_SECONDS = 0.25
FILL_RETRY_MAX_SECONDS = 5.0

# fetch(after_seq, limit) -> up to ``limit`` (seq, newMessage frame) after ``after_seq``
Fetch = Callable[[int, int], Awaitable[list[tuple[int, str]]]]
FETCH_LIMIT = 500


class Wire(Protocol):
    """Where an outbox's frames go: the connection's socket (``realtime/wire.py``)."""

    def send_text(self, text: str) -> None:
        """Write one text frame (never blocks: the transport buffers it)."""

    def send_close(self, code: int, reason: str) -> None:
        """Write the close frame; the wire closes the socket when the client answers."""

    def closing(self) -> None:
        """A close is coming: the wire makes sure the socket ends within a grace time,
        even if the client never reads again."""


@dataclass(frozen=True, slots=True)
class Close:
    code: int
    reason: str


class Outbox:
    def __init__(
        self,
        wire: Wire,
        *,
        fetch: Fetch,
        inflight: Callable[[], int],
        max_queue: int = 2000,
        max_held: int = 5000,
    ) -> None:
        self._wire = wire
        self._fetch = fetch
        self._inflight = inflight
        self._max_queue = max_queue
        self._max_held = max_held
        self._fetch_limit = max(1, min(FETCH_LIMIT, max_queue // 4))
        self.last: int | None = None  # None until start(): everything is held before
        self._want = 0  # the highest seq known to exist in the room
        self._held: dict[int, str] = {}
        self._pre: list[str] = []  # non-message frames offered before start()
        # frames waiting for the socket (only while it is paused): made when first needed,
        # an empty deque holds a 64-slot block (~0.6 KiB) per idle connection
        self._queue: deque[str | Close] | None = None
        self._paused = False
        # LeanEvent: asyncio.Event allocates an empty deque (~0.7 KiB) each, per connection
        self._drained = LeanEvent()  # the queue is at most half full
        self._drained.set()
        self._progress = LeanEvent()
        self.send_lock = asyncio.Lock()
        self._fill_task: asyncio.Task[None] | None = None
        self.closing: Close | None = None  # set once a close is queued (or the client left)
        self.done = LeanEvent()  # the socket is gone

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
            if self._queue and len(self._queue) > self._max_queue // 2:
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

    # --- writing --------------------------------------------------------------------

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
        queue = self._queue
        if not self._paused and not queue:
            self._wire.send_text(frame)
            return
        if queue is None:
            queue = self._queue = deque()
        if len(queue) >= self._max_queue:
            queue.clear()
            self.close(1008, "client too slow")
            return
        queue.append(frame)

    def close(self, code: int, reason: str) -> None:
        """Close after the frames already queued (acks are flushed first)."""
        if self.closing is not None:
            return
        self.closing = close = Close(code, reason)
        if self._fill_task is not None:
            self._fill_task.cancel()
        self._wire.closing()
        if self._paused or self._queue:
            if self._queue is None:
                self._queue = deque()
            self._queue.append(close)
        else:
            self._wire.send_close(code, reason)

    def pause(self) -> None:
        """The socket's write buffer is full: queue frames until ``resume``."""
        self._paused = True

    def resume(self) -> None:
        """The socket drained: write what waited, in order, while it keeps up."""
        self._paused = False
        queue = self._queue
        while queue and not self._paused:
            item = queue.popleft()
            if isinstance(item, Close):
                self._wire.send_close(item.code, item.reason)
            else:
                self._wire.send_text(item)
        if not queue or len(queue) <= self._max_queue // 2:
            self._drained.set()

    def lost(self) -> None:
        """The socket is gone: nothing more can be sent."""
        if self.closing is None:
            self.closing = Close(1006, "gone")
        if self._queue:
            self._queue.clear()
        if self._fill_task is not None:
            self._fill_task.cancel()
        self._drained.set()
        self.done.set()
