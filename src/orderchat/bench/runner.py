"""Drives a bench run: the server (own or remote), the worker processes, the start of the
load on one shared clock, the progress bar, and the server's /proc figures."""

from __future__ import annotations

import asyncio
import math
import multiprocessing
import os
import time
from collections.abc import AsyncIterator, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass, field, fields
from typing import Any

from tqdm import tqdm

from orderchat.bench.load import ACKED, DELIVERED, ERRORS, OPENED, SENT, LoadResult
from orderchat.bench.rooms import Target
from orderchat.bench.schedule import ROLES, Schedule, worker_rooms
from orderchat.bench.server import Server, cpu_seconds, own_server, remote_server, rss_kib
from orderchat.bench.worker import OpenResult, Plan, raise_fd_limit, worker_main

START_DELAY_SECONDS = 0.5  # between handing out t0 and t0: every worker is waiting by then
SETTLE_STEP_SECONDS = 1.0
SETTLE_KIB = 256  # RSS counts as settled once it moves less than this per step
SETTLE_MAX_STEPS = 15
PROGRESS_SECONDS = 0.25


@dataclass(frozen=True)
class Options:
    url: str | None = None
    secret: str | None = None
    issuer: str | None = None
    audience: str | None = None
    database_url: str | None = None
    redis_url: str | None = None
    sender_limit: float | None = None  # the started server's per-sender rate limit
    server_pid: int | None = None
    rooms: int = 200
    rate: float = 2000.0
    duration: float = 60.0
    warmup: float = 5.0
    idle: int | None = None  # idle mode: hold this many connections
    open_rate: float = 500.0
    workers: int = 1
    drain_timeout: float = 10.0
    progress: bool = True
    storm: int | None = None  # storm mode (storm_run.py): drop and reconnect this many
    storm_kill: bool = False  # two instances, kill the one holding them
    reconnect_spread: float = 0.0
    storm_timeout: float = 60.0


@dataclass
class Outcome:
    """Everything a run measured, merged over the workers (report.py turns it into text)."""

    options: Options
    rooms: int
    local: bool  # the bench started the server itself
    opened: OpenResult
    load: LoadResult | None = None
    worker_cpu: list[dict[str, float]] = field(default_factory=list)
    server_cpu_seconds: float | None = None  # over the measured window
    server_rss_kib: dict[str, int | None] = field(default_factory=dict)
    # 1-minute load average of the machine before and after: a busy shared box shows here
    machine: dict[str, Any] = field(default_factory=dict)


@dataclass
class _Worker:
    proc: Any
    pipe: Any
    progress: Any


async def run(opts: Options) -> Outcome:
    raise_fd_limit()
    server: AbstractAsyncContextManager[Server]
    if opts.url is None:
        server = own_server(opts.database_url, opts.redis_url, opts.sender_limit)
    else:
        if not opts.secret:
            raise SystemExit("orderchat bench: --url needs --secret (or ORDERCHAT_JWT_SECRET)")
        server = remote_server(opts.url, opts.secret, opts.server_pid)
    async with server as srv:
        return await _drive(opts, srv)


async def _recv(worker: _Worker, tag: str) -> Any:
    try:
        message = await asyncio.to_thread(worker.pipe.recv)
    except EOFError:
        raise SystemExit("orderchat bench: a worker process died") from None
    if message[0] == "failed":
        raise SystemExit("orderchat bench: a worker failed:\n" + message[1])
    if message[0] != tag:
        raise SystemExit(f"orderchat bench: a worker said {message[0]!r}, expected {tag!r}")
    return message[1] if len(message) > 1 else None


async def _all(workers: Sequence[_Worker], tag: str) -> list[Any]:
    return list(await asyncio.gather(*(_recv(w, tag) for w in workers)))


def _send_all(workers: Sequence[_Worker], *message: Any) -> None:
    for worker in workers:
        worker.pipe.send(message)


@asynccontextmanager
async def _workers(plans: Sequence[Plan]) -> AsyncIterator[list[_Worker]]:
    ctx = multiprocessing.get_context("spawn")
    started: list[_Worker] = []
    try:
        for plan in plans:
            mine, theirs = ctx.Pipe()
            progress = ctx.RawArray("q", OPENED + 1)
            proc = ctx.Process(target=worker_main, args=(plan, theirs, progress), daemon=True)
            proc.start()
            theirs.close()  # so a dead worker reads as EOF here
            started.append(_Worker(proc, mine, progress))
        yield started
    finally:
        for worker in started:
            await asyncio.to_thread(worker.proc.join, 10)
            if worker.proc.is_alive():
                worker.proc.kill()
                await asyncio.to_thread(worker.proc.join, 10)


def _merge_opened(parts: Sequence[OpenResult]) -> OpenResult:
    merged = OpenResult()
    for part in parts:
        merged.connections += part.connections
        merged.handshake_t.extend(part.handshake_t)
        merged.handshake_ms.extend(part.handshake_ms)
        for key, n in part.failures.items():
            merged.failures[key] = merged.failures.get(key, 0) + n
        merged.seconds = max(merged.seconds, part.seconds)
        merged.cpu_seconds = max(merged.cpu_seconds, part.cpu_seconds)  # the busiest worker
    return merged


def merge_loads(parts: Sequence[LoadResult]) -> LoadResult:
    merged = LoadResult()
    for part in parts:
        for f in fields(LoadResult):
            mine, theirs = getattr(merged, f.name), getattr(part, f.name)
            if f.name in ("stored", "wall_seconds", "gc_pause_ms"):
                continue
            if isinstance(mine, dict):
                for key, n in theirs.items():
                    mine[key] = mine.get(key, 0) + n
            elif isinstance(mine, bool):
                setattr(merged, f.name, mine or theirs)
            elif isinstance(mine, int | float):
                setattr(merged, f.name, mine + theirs)
            else:  # an array of samples
                mine.extend(theirs)
    stored = [part.stored for part in parts]
    merged.stored = None if None in stored else sum(s or 0 for s in stored)
    merged.wall_seconds = max((part.wall_seconds for part in parts), default=0.0)
    merged.gc_pause_ms = max((part.gc_pause_ms for part in parts), default=0.0)
    return merged


async def _settled_rss(pid: int | None) -> int | None:
    if pid is None:
        return None
    previous = rss_kib(pid)
    for _ in range(SETTLE_MAX_STEPS):
        await asyncio.sleep(SETTLE_STEP_SECONDS)
        current = rss_kib(pid)
        if current is None or previous is None or abs(current - previous) < SETTLE_KIB:
            return current
        previous = current
    return previous


async def _drive(opts: Options, server: Server) -> Outcome:
    idle = opts.idle is not None
    rooms = math.ceil((opts.idle or 0) / len(ROLES)) if idle else opts.rooms
    if rooms < 1:
        raise SystemExit("orderchat bench: nothing to do (no room)")
    schedule = None if idle else Schedule.for_run(opts.rate, rooms, opts.warmup + opts.duration)
    count = max(1, min(opts.workers, rooms))
    target = Target(server.base, server.secret, opts.issuer, opts.audience)
    plans = [
        Plan(
            target=target,
            rooms=worker_rooms(w, count, rooms),
            open_rate=opts.open_rate / count,
            schedule=schedule,
            connections=opts.idle,
            warmup=opts.warmup,
            drain_timeout=opts.drain_timeout,
        )
        for w in range(count)
    ]
    pid = server.pid
    async with _workers(plans) as workers:
        await _all(workers, "rooms")
        outcome = Outcome(options=opts, rooms=rooms, local=opts.url is None, opened=OpenResult())
        outcome.machine = {"cpus": os.cpu_count(), "load_average_before": os.getloadavg()[0]}
        outcome.server_rss_kib["before"] = rss_kib(pid) if pid else None
        _send_all(workers, "open")
        opening = asyncio.ensure_future(_all(workers, "opened"))
        connections = opts.idle or rooms * len(ROLES)
        await _show_progress(workers, opening, connections, opts.progress, opening=True)
        outcome.opened = _merge_opened(opening.result())
        if schedule is None:
            outcome.server_rss_kib["after"] = await _settled_rss(pid)
            outcome.machine["load_average_after"] = os.getloadavg()[0]
            _send_all(workers, "stop")
            await _all(workers, "done")
            return outcome
        t0 = time.monotonic() + START_DELAY_SECONDS
        _send_all(workers, "start", t0)
        done = asyncio.ensure_future(_all(workers, "done"))
        sampler = asyncio.ensure_future(_sample_server(pid, t0, opts, outcome))
        await _show_progress(workers, done, schedule.total, opts.progress)
        loads: list[LoadResult] = done.result()
        await sampler
        outcome.machine["load_average_after"] = os.getloadavg()[0]
    outcome.load = merge_loads(loads)
    outcome.worker_cpu = [
        {
            "cpu_seconds": round(part.cpu_seconds, 2),
            "longest_gc_pause_ms": round(part.gc_pause_ms, 1),
            "percent_of_one_core": round(100 * part.cpu_seconds / part.wall_seconds, 1)
            if part.wall_seconds > 0
            else 0.0,
        }
        for part in loads
    ]
    return outcome


async def _sample_server(pid: int | None, t0: float, opts: Options, outcome: Outcome) -> None:
    """Server CPU over the measured window (after the warm-up, to the last due send)."""
    if pid is None:
        return
    await asyncio.sleep(max(0.0, t0 + opts.warmup - time.monotonic()))
    start = cpu_seconds(pid)
    await asyncio.sleep(max(0.0, t0 + opts.warmup + opts.duration - time.monotonic()))
    end = cpu_seconds(pid)
    outcome.server_rss_kib["end"] = rss_kib(pid)
    if start is not None and end is not None:
        outcome.server_cpu_seconds = end - start


async def _show_progress(
    workers: Sequence[_Worker],
    done: asyncio.Future[Any],
    total: int,
    enabled: bool,
    opening: bool = False,
) -> None:
    """A progress bar on stderr (a terminal only) until ``done``: connections opened, or
    messages sent with the acks, deliveries and errors so far."""
    unit, desc = ("conn", "opened") if opening else ("msg", "sent")
    with tqdm(
        total=total, unit=unit, desc=desc, disable=None if enabled else True, leave=False
    ) as bar:
        while not done.done():
            await asyncio.wait([done], timeout=PROGRESS_SECONDS)
            counts = [sum(w.progress[i] for w in workers) for i in range(OPENED + 1)]
            if opening:
                bar.n = counts[OPENED]
            else:
                bar.n = counts[SENT]
                bar.set_postfix(
                    acked=counts[ACKED],
                    delivered=counts[DELIVERED],
                    errors=counts[ERRORS],
                    refresh=False,
                )
            bar.refresh()
