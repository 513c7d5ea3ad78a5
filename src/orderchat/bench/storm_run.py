"""Storm mode, runner side: one server (the workers drop the storm connections) or two on
one PostgreSQL + Redis (the runner kills the one holding the storm connections), the
workers' conversation, and the server's CPU sampled through the storm."""

from __future__ import annotations

import asyncio
import math
import os
import secrets
import signal
import time
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from typing import Any

from orderchat.bench.rooms import Target
from orderchat.bench.runner import (
    START_DELAY_SECONDS,
    Options,
    _all,
    _merge_opened,
    _send_all,
    _settled_rss,
    _workers,
)
from orderchat.bench.schedule import Schedule, worker_rooms
from orderchat.bench.server import Server, cpu_seconds, own_server, remote_server, rss_kib
from orderchat.bench.storm_model import StormPlan, StormResult
from orderchat.bench.worker import OpenResult, Plan, raise_fd_limit

CPU_SAMPLE_SECONDS = 0.05


@dataclass
class StormOutcome:
    options: Options
    rooms: int
    local: bool
    opened: OpenResult
    results: list[StormResult] = field(default_factory=list)
    rss_kib: dict[str, int | None] = field(default_factory=dict)
    idle_connections: int = 0  # held by the storm server while RSS was measured
    cpu: list[tuple[float, float]] = field(default_factory=list)  # (s after t0, CPU s)
    machine: dict[str, Any] = field(default_factory=dict)


async def run_storm(opts: Options) -> StormOutcome:
    raise_fd_limit()
    async with AsyncExitStack() as stack:
        if opts.url is not None:
            if not opts.secret:
                raise SystemExit("orderchat bench: --url needs --secret (or ORDERCHAT_JWT_SECRET)")
            srv = await stack.enter_async_context(
                remote_server(opts.url, opts.secret, opts.server_pid)
            )
            return await _drive(opts, srv, srv)
        secret = secrets.token_urlsafe(48)
        steady = await stack.enter_async_context(
            own_server(opts.database_url, opts.redis_url, opts.sender_limit, secret)
        )
        storm = steady
        if opts.storm_kill:
            storm = await stack.enter_async_context(
                own_server(opts.database_url, opts.redis_url, opts.sender_limit, secret)
            )
        return await _drive(opts, steady, storm)


async def _sample(pid: int | None, t0: float, into: list[tuple[float, float]]) -> None:
    while pid is not None:
        cpu = cpu_seconds(pid)
        if cpu is not None:
            into.append((time.monotonic() - t0, cpu))
        await asyncio.sleep(CPU_SAMPLE_SECONDS)


async def _drive(opts: Options, steady: Server, storm: Server) -> StormOutcome:
    assert opts.storm is not None
    rooms = opts.rooms
    schedule = Schedule.for_run(opts.rate, rooms, opts.duration)
    count = max(1, min(opts.workers, rooms))
    target = Target(steady.base, steady.secret, opts.issuer, opts.audience)
    storm_plan = StormPlan(
        storm_target=Target(storm.base, storm.secret, opts.issuer, opts.audience),
        total=opts.storm,
        rooms=rooms,
        drop_after=opts.warmup,
        kill=opts.storm_kill,
        spread=opts.reconnect_spread,
        timeout=opts.storm_timeout,
    )
    plans = [
        Plan(
            target=target,
            rooms=worker_rooms(w, count, rooms),
            open_rate=opts.open_rate / count,
            schedule=schedule,
            drain_timeout=opts.drain_timeout,
            storm=storm_plan,
        )
        for w in range(count)
    ]
    outcome = StormOutcome(options=opts, rooms=rooms, local=opts.url is None, opened=OpenResult())
    async with _workers(plans) as workers:
        await _all(workers, "rooms")
        outcome.machine = {"cpus": os.cpu_count(), "load_average_before": os.getloadavg()[0]}
        outcome.rss_kib["before"] = rss_kib(storm.pid) if storm.pid else None
        _send_all(workers, "open")
        outcome.opened = _merge_opened(await _all(workers, "opened"))
        outcome.rss_kib["after"] = await _settled_rss(storm.pid)
        outcome.idle_connections = outcome.opened.connections - (
            2 * rooms if opts.storm_kill else 0
        )
        t0 = time.monotonic() + START_DELAY_SECONDS
        sampler = asyncio.ensure_future(_sample(steady.pid, t0, outcome.cpu))
        _send_all(workers, "start", t0)
        done = asyncio.ensure_future(_all(workers, "done"))
        if opts.storm_kill and storm.pid is not None:
            await asyncio.sleep(max(0.0, t0 + opts.warmup - time.monotonic()))
            os.kill(storm.pid, signal.SIGKILL)
        outcome.results = await done
        sampler.cancel()
        outcome.rss_kib["end"] = rss_kib(steady.pid) if steady.pid else None
        outcome.machine["load_average_after"] = os.getloadavg()[0]
    return outcome


def cpu_between(samples: list[tuple[float, float]], start: float, end: float) -> float | None:
    """CPU seconds the sampled process used between two times (s after t0), from the
    samples nearest to them; None without samples around both."""
    before = [cpu for t, cpu in samples if t <= start]
    after = [cpu for t, cpu in samples if t >= end]
    if not before or not after or end <= start or math.isnan(end):
        return None
    return after[0] - before[-1]
