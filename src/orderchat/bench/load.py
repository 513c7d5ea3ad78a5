"""The load phase of one worker: every room sends on the open-loop schedule, every
connection checks what it receives as it arrives (in its picows listener's callback, no
reader task), then the worker waits for the stragglers and verifies the stored counts
over REST."""

from __future__ import annotations

import asyncio
import gc
import time
from array import array
from collections.abc import MutableSequence, Sequence
from dataclasses import dataclass, field

import orjson

from orderchat.bench.link import Conn
from orderchat.bench.rooms import Room, Target, close_connections, fetch_last_seqs
from orderchat.bench.schedule import Schedule

# Indexes into the shared progress counters the parent shows in its progress bar.
SENT, ACKED, DELIVERED, ERRORS, OPENED = range(5)
DRAIN_POLL_SECONDS = 0.05
UNREADABLE = "bench: unreadable frame"  # counted with the error codes


@dataclass
class LoadResult:
    """What one worker measured; merged across workers by the runner."""

    ack_t: array[float] = field(default_factory=lambda: array("d"))  # due time, s after t0
    ack_ms: array[float] = field(default_factory=lambda: array("d"))
    e2e_t: array[float] = field(default_factory=lambda: array("d"))
    e2e_ms: array[float] = field(default_factory=lambda: array("d"))
    send_lag_ms: array[float] = field(default_factory=lambda: array("d"))
    scheduled: int = 0
    sent: int = 0
    sent_measured: int = 0  # sends due after the warm-up
    send_failed: int = 0  # the connection was gone
    acked: int = 0
    duplicate_acks: int = 0
    delivered: int = 0
    refused: int = 0  # sends answered with an error frame
    error_codes: dict[str, int] = field(default_factory=dict)
    missing: int = 0
    undelivered: int = 0
    duplicated: int = 0
    out_of_order: int = 0
    unacked: int = 0  # sent, but neither acked nor refused by the end
    stored: int | None = None  # sum of the rooms' REST lastSeq (None: could not read)
    # rooms storing fewer messages than were acked, or (every send answered) more
    stored_mismatch: int = 0
    connections_lost: int = 0
    drain_timed_out: bool = False
    cpu_seconds: float = 0.0
    wall_seconds: float = 0.0
    gc_pause_ms: float = 0.0  # the longest cyclic-GC pause of the worker during the load


class Load:
    def __init__(
        self,
        target: Target,
        schedule: Schedule,
        rooms: Sequence[Room],
        warmup: float,
        progress: MutableSequence[int],
    ) -> None:
        self.target = target
        self.schedule = schedule
        self.rooms = rooms
        self.warmup = warmup
        self.progress = progress
        self.result = LoadResult()
        self.t0 = 0.0
        self._gc_started = 0.0

    async def run(self, t0: float, drain_timeout: float) -> LoadResult:
        self.t0 = t0
        result = self.result
        result.scheduled = sum(self.schedule.count(room.index) for room in self.rooms)
        cpu = time.process_time()
        gc.callbacks.append(self._gc_timer)
        conns = [c for room in self.rooms for c in room.conns if c.ws is not None]
        for conn in conns:
            assert conn.ws is not None
            conn.ws.attach(self._receive)
        await asyncio.gather(*(self._send(room) for room in self.rooms))
        result.drain_timed_out = not await self._drained(drain_timeout)
        result.wall_seconds = time.monotonic() - t0
        await close_connections(conns)
        result.cpu_seconds = time.process_time() - cpu
        gc.callbacks.remove(self._gc_timer)
        await self._verify()
        return result

    def _gc_timer(self, phase: str, _info: dict[str, int]) -> None:
        if phase == "start":
            self._gc_started = time.perf_counter()
        else:
            pause = (time.perf_counter() - self._gc_started) * 1000
            self.result.gc_pause_ms = max(self.result.gc_pause_ms, pause)

    async def _send(self, room: Room) -> None:
        schedule, result, progress = self.schedule, self.result, self.progress
        for k in range(schedule.count(room.index)):
            due = schedule.due(room.index, k)
            at = self.t0 + due
            delay = at - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            link = room.conns[schedule.sender(k)].ws
            if link is None or link.lost:
                result.send_failed += 1
                continue
            # A socket whose buffer is full (a server that stopped reading) holds this
            # room's sends back, as websockets' drain did: it shows in send_lag_ms.
            while link.writable is not None and not link.lost:
                await link.writable
            frame = orjson.dumps(
                {
                    "event": "sendMessage",
                    "data": {"message": f"bench {k}", "clientMessageId": str(k)},
                }
            )
            lag = time.monotonic() - at
            if not link.send_text(frame):
                result.send_failed += 1
                continue
            room.sent += 1
            result.sent += 1
            progress[SENT] += 1
            if due >= self.warmup:
                result.sent_measured += 1
                result.send_lag_ms.append(lag * 1000)

    def _receive(self, conn: Conn, raw: memoryview | bytes, now: float) -> None:
        """A connection's data frame, called from its listener as the frame arrives."""
        try:
            self._frame(conn, raw, now)
        except (ValueError, KeyError, TypeError, AttributeError):
            # not the protocol's shape (or not the bench's clientMessageId)
            codes = self.result.error_codes
            codes[UNREADABLE] = codes.get(UNREADABLE, 0) + 1

    def _frame(self, conn: Conn, raw: memoryview | bytes | str, now: float) -> None:
        result, progress, room = self.result, self.progress, conn.room
        frame = orjson.loads(raw)
        event, data = frame["event"], frame["data"]
        if event == "newMessage" or event == "messageAck":
            seq = int(data["seq"])
            due = self.schedule.due(room.index, int(data["clientMessageId"]))
            conn.tracker.see(seq)
            latency = (now - self.t0 - due) * 1000
            if event == "messageAck":
                room.acked += 1
                result.acked += 1
                progress[ACKED] += 1
                if data.get("duplicate"):
                    result.duplicate_acks += 1
                if due >= self.warmup:
                    result.ack_t.append(due)
                    result.ack_ms.append(latency)
            else:
                result.delivered += 1
                progress[DELIVERED] += 1
                if due >= self.warmup:
                    result.e2e_t.append(due)
                    result.e2e_ms.append(latency)
        elif event == "error":
            code = str(data.get("code"))
            result.error_codes[code] = result.error_codes.get(code, 0) + 1
            progress[ERRORS] += 1
            if data.get("clientMessageId") is not None:
                room.refused += 1

    def _room_done(self, room: Room) -> bool:
        if room.acked + room.refused < room.sent:
            return False
        return all(c.ws is None or c.lost or c.tracker.count >= room.acked for c in room.conns)

    async def _drained(self, seconds: float) -> bool:
        """Wait until every sent message is acked or refused and every connection has
        received every acked message of its room (or lost its connection)."""
        deadline = time.monotonic() + seconds
        while not all(self._room_done(room) for room in self.rooms):
            if time.monotonic() >= deadline:
                return False
            await asyncio.sleep(DRAIN_POLL_SECONDS)
        return True

    async def _verify(self) -> None:
        result = self.result
        unread = await fetch_last_seqs(self.target, self.rooms)
        result.stored = None if unread else sum(room.last_seq or 0 for room in self.rooms)
        for room in self.rooms:
            result.refused += room.refused
            result.unacked += max(0, room.sent - room.acked - room.refused)
            # The room's final seq: from REST, else the highest any connection saw.
            last = room.last_seq
            if last is None:
                last = max((c.tracker.highest for c in room.conns), default=0)
            elif last < room.acked or (
                last > room.acked and room.acked + room.refused >= room.sent
            ):
                # An acked message not stored breaks durability; one stored though its
                # send was refused (or never answered, with every send answered) is a
                # false refusal. Stored but not yet acked is backlog, counted as unacked.
                result.stored_mismatch += 1
            for conn in room.conns:
                if conn.ws is None:
                    continue
                result.connections_lost += conn.lost
                result.missing += conn.tracker.missing()
                result.undelivered += conn.tracker.undelivered(last)
                result.duplicated += conn.tracker.duplicated
                result.out_of_order += conn.tracker.out_of_order
