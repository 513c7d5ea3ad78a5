"""Storm mode, worker side: hold connections, drop them all at once, bring them all back
with ``lastSeq``, and check that each one resumes completely.

Each room has ``storm`` connections (the ones dropped; roles cycle customer, vendor, rider,
a user may hold several) and two steady ones that are never dropped: the vendor's sender,
which sends on the open-loop schedule the whole time (so messages are in flight when the
drop comes, and each dropped connection has some to resume), and the customer's receiver,
whose latency is that of messages between connected clients during the storm. With
``kill`` the storm connections are on the instance the runner kills and notice it
themselves; otherwise the worker drops them (no close handshake) at ``t0 + drop_after``.
Each then reconnects at once (or after a random wait up to ``spread`` seconds) to the
steady target with ``lastSeq`` = the highest seq it received, retrying as the Python
client does (its backoff, or the server's ``Retry-After`` with its jitter) until ``timeout``.
"""

from __future__ import annotations

import asyncio
import gc
import random
import time
from collections.abc import Awaitable, Callable, MutableSequence, Sequence
from typing import Any

import orjson

from orderchat.bench.link import Conn, Link
from orderchat.bench.load import OPENED
from orderchat.bench.rooms import (
    OPEN_TIMEOUT_SECONDS,
    Room,
    Target,
    close_connections,
    fetch_last_seqs,
    open_connections,
)
from orderchat.bench.schedule import Schedule
from orderchat.bench.storm_model import (
    StormConn,
    StormLink,
    StormPlan,
    StormResult,
    make_link,
    storm_conns,
    storm_count,
)
from orderchat.client.dialer import backoff_delay, retry_after_delay

try:
    from picows import WSInvalidStatusError, ws_connect
except ImportError as missing:  # an install without the extra
    raise ImportError("orderchat bench needs picows: pip install 'orderchat[bench]'") from missing

# The Python client's defaults (orderchat.client.Connection backoff_initial/backoff_max).
CLIENT_BACKOFF = (0.2, 10.0)
POLL_SECONDS = 0.02


class Storm:
    def __init__(
        self,
        plan: StormPlan,
        target: Target,
        schedule: Schedule,
        rooms: Sequence[Room],
        conns: Sequence[StormConn],
    ) -> None:
        self.plan = plan
        self.target = target  # the steady instance: storm connections come back here
        self.schedule = schedule
        self.rooms = rooms
        self.conns = conns
        self.result = StormResult()
        self.heads = {room.index: 0 for room in rooms}  # highest acked seq per room
        self.t0 = 0.0
        self.drop_at = 0.0
        self._tasks: set[asyncio.Task[None]] = set()

    # --- the drop and the reconnects ----------------------------------------------------

    def lost(self, conn: Conn) -> None:
        """A storm connection ended without the bench closing it: reconnect."""
        assert isinstance(conn, StormConn)
        if conn.ws is not None:
            conn.ws.receiver = None  # nothing more from the old socket
        conn.dropped_at = time.monotonic()
        self.result.dropped += 1
        task = asyncio.get_running_loop().create_task(self._reconnect(conn))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def drop(self) -> None:
        """Drop every storm connection at once (no close handshake), then bring each back."""
        storm = [c for c in self.conns if c.storm and c.ws is not None]
        for conn in storm:
            assert conn.ws is not None
            conn.ws.closing = True  # our own drop: no on_lost
            if conn.ws.transport is not None:
                conn.ws.transport.disconnect(graceful=False)
        for conn in storm:
            self.lost(conn)

    def _fail(self, key: str) -> None:
        self.result.failures[key] = self.result.failures.get(key, 0) + 1

    async def _reconnect(self, conn: StormConn) -> None:
        result, room = self.result, conn.room
        deadline = self.drop_at + self.plan.timeout
        if self.plan.spread > 0:
            await asyncio.sleep(random.uniform(0, self.plan.spread))
        attempt = 0
        while time.monotonic() < deadline:
            attempt += 1
            result.attempts += 1
            last = conn.tracker.highest
            link = StormLink(conn, self.lost)
            url = f"{self.target.ws_base}/chat?orderId={room.order_id}&lastSeq={last}"
            headers = {"Authorization": "Bearer " + room.tokens[conn.role]}
            started = time.perf_counter()
            wait: float | None = None
            try:
                async with asyncio.timeout(OPEN_TIMEOUT_SECONDS):
                    await ws_connect(
                        lambda: link,  # noqa: B023 (awaited within the iteration)
                        url,
                        extra_headers=headers,
                        enable_auto_ping=False,
                        websocket_handshake_timeout=OPEN_TIMEOUT_SECONDS,
                    )
                    first = orjson.loads(await link.first)
            except WSInvalidStatusError as refused:
                response = refused.response
                self._fail(str(response.status) if response is not None else "status")
                header = response.headers.get("retry-after") if response is not None else None
                if header is not None and header.isdigit():
                    result.retry_after += 1
                    wait = retry_after_delay(int(header))
            except Exception as error:  # reset, refused, timed out: retried
                self._fail(type(error).__name__)
            else:
                if first.get("event") == "connected":
                    self._back(conn, link, first["data"], last, started)
                    return
                self._fail("no connected frame")
            if link.transport is not None:
                link.closing = True
                link.transport.disconnect(graceful=False)
            if wait is None:
                wait = backoff_delay(attempt, *CLIENT_BACKOFF)
            await asyncio.sleep(min(wait, max(0.0, deadline - time.monotonic())))
        conn.gave_up = True
        result.gave_up += 1

    def _back(
        self, conn: StormConn, link: Link, data: dict[str, object], last: int, t: float
    ) -> None:
        now = time.monotonic()
        result = self.result
        result.handshake_ms.append((time.perf_counter() - t) * 1000)
        result.reconnected += 1
        result.back_s.append(now - self.drop_at)
        if data.get("lastSeq") != last:
            result.start_mismatch += 1
        conn.back_at = now
        conn.target = max(self.heads[conn.room.index], last)
        conn.ws = link
        link.attach(self._receive)
        self._check_caught_up(conn, now)

    def _check_caught_up(self, conn: StormConn, now: float) -> None:
        target = conn.target
        if conn.caught_up_at is None and target is not None and conn.tracker.highest >= target:
            conn.caught_up_at = now
            self.result.caught_up_s.append(now - self.drop_at)

    # --- frames ---------------------------------------------------------------------------

    def _receive(self, conn: Conn, raw: memoryview | bytes, now: float) -> None:
        assert isinstance(conn, StormConn)
        result = self.result
        try:
            frame = orjson.loads(raw)
            event, data = frame["event"], frame["data"]
            if event == "error":
                code = str(data.get("code"))
                result.error_codes[code] = result.error_codes.get(code, 0) + 1
                if data.get("clientMessageId") is not None:
                    conn.room.refused += 1
                return
            if event != "newMessage" and event != "messageAck":
                return
            seq = int(data["seq"])
            due = self.schedule.due(conn.room.index, int(data["clientMessageId"]))
        except (ValueError, KeyError, TypeError, AttributeError):
            result.error_codes["bench: unreadable frame"] = (
                result.error_codes.get("bench: unreadable frame", 0) + 1
            )
            return
        conn.tracker.see(seq)
        latency = (now - self.t0 - due) * 1000
        if event == "messageAck":
            conn.room.acked += 1
            self.heads[conn.room.index] = max(self.heads[conn.room.index], seq)
            result.ack_t.append(due)
            result.ack_ms.append(latency)
        elif not conn.storm:
            result.e2e_t.append(due)
            result.e2e_ms.append(latency)
        elif conn.target is not None:
            result.resumed += seq <= conn.target
            self._check_caught_up(conn, now)

    # --- the run ----------------------------------------------------------------------------

    async def run(self, t0: float, drain_timeout: float) -> StormResult:
        self.t0 = t0
        self.drop_at = t0 + self.plan.drop_after
        cpu = time.process_time()
        for conn in self.conns:
            if conn.ws is not None:
                conn.ws.attach(self._receive)
        sending = asyncio.gather(*(self._send(room) for room in self.rooms))
        if not self.plan.kill:
            await asyncio.sleep(max(0.0, self.drop_at - time.monotonic()))
            self.drop()
        await sending
        # every storm connection back (or given up) and every message in
        deadline = max(time.monotonic() + drain_timeout, self.drop_at + self.plan.timeout)
        while not self._settled():
            if time.monotonic() >= deadline:
                self.result.timed_out = True
                break
            await asyncio.sleep(POLL_SECONDS)
        for task in list(self._tasks):
            task.cancel()
        await close_connections(self.conns)
        self.result.cpu_seconds = time.process_time() - cpu
        await self._verify()
        return self.result

    async def _send(self, room: Room) -> None:
        schedule, result = self.schedule, self.result
        sender = room.conns[-2]  # storm_conns: the steady sender, then the receiver
        for k in range(schedule.count(room.index)):
            delay = self.t0 + schedule.due(room.index, k) - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            link = sender.ws
            if link is None:
                result.send_failed += 1
                continue
            while link.writable is not None and not link.lost:
                await link.writable
            frame = orjson.dumps(
                {
                    "event": "sendMessage",
                    "data": {"message": f"storm {k}", "clientMessageId": str(k)},
                }
            )
            if not link.send_text(frame):
                result.send_failed += 1
                continue
            room.sent += 1
            result.sent += 1

    def _settled(self) -> bool:
        for conn in self.conns:
            waiting = conn.dropped_at is not None and conn.caught_up_at is None
            if conn.storm and waiting and not conn.gave_up:
                return False
        for room in self.rooms:
            if room.acked + room.refused < room.sent:
                return False
            head = self.heads[room.index]
            for member in room.conns:
                assert isinstance(member, StormConn)
                live = member.ws is not None and not member.ws.lost and not member.gave_up
                if live and member.tracker.highest < head:
                    return False
        return True

    async def _verify(self) -> None:
        result = self.result
        unread = await fetch_last_seqs(self.target, self.rooms)
        result.stored = None if unread else sum(room.last_seq or 0 for room in self.rooms)
        keys = ("missing", "undelivered", "duplicated", "out_of_order", "connections_lost")
        result.storm = dict.fromkeys(keys, 0)
        result.steady = dict.fromkeys(keys, 0)
        for room in self.rooms:
            result.acked += room.acked
            result.refused += room.refused
            last = room.last_seq
            if last is None:
                last = max((c.tracker.highest for c in room.conns), default=0)
            elif last != room.acked and room.acked + room.refused >= room.sent:
                result.stored_mismatch += 1
            for conn in room.conns:
                assert isinstance(conn, StormConn)
                if conn.ws is None or conn.gave_up:
                    continue
                counts = result.storm if conn.storm else result.steady
                counts["connections_lost"] += conn.ws.lost
                counts["missing"] += conn.tracker.missing()
                counts["undelivered"] += conn.tracker.undelivered(last)
                counts["duplicated"] += conn.tracker.duplicated
                counts["out_of_order"] += conn.tracker.out_of_order


async def storm_work(
    plan: Any,
    storm_plan: StormPlan,
    rooms: Sequence[Room],
    pipe: Any,
    recv: Callable[[], Awaitable[tuple[Any, ...]]],
    progress: MutableSequence[int],
) -> None:
    """The worker's storm conversation after the rooms exist: open (steady connections on
    the plan's target, storm ones on the storm target), then the run."""
    from orderchat.bench.worker import OpenResult

    assert plan.schedule is not None
    conns = [c for room in rooms for c in storm_conns(room, storm_count(storm_plan, room.index))]
    storm = Storm(storm_plan, plan.target, plan.schedule, rooms, conns)
    opened = OpenResult()
    started, cpu = time.monotonic(), time.process_time()
    for target, group, link in (
        (plan.target, [c for c in conns if not c.storm], Link),
        (storm_plan.storm_target, [c for c in conns if c.storm], make_link(storm.lost)),
    ):
        due, ms = await open_connections(
            target, group, plan.open_rate, opened.failures, progress, OPENED, link, True
        )
        opened.handshake_t.extend(due)
        opened.handshake_ms.extend(ms)
    opened.seconds = time.monotonic() - started
    opened.cpu_seconds = time.process_time() - cpu
    opened.connections = sum(1 for conn in conns if conn.ws is not None)
    pipe.send(("opened", opened))
    gc.freeze()
    gc.enable()
    command = await recv()
    result = await storm.run(float(command[1]), plan.drain_timeout)
    pipe.send(("done", result))
