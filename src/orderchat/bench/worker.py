"""A worker process of the bench: it owns a slice of the rooms, their connections and
their part of the schedule, and talks to the runner over a pipe.

Conversation (runner -> worker / worker -> runner):
  worker: ("rooms",)                     rooms created through the API
  runner: ("open",)
  worker: ("opened", OpenResult)         connections opened and timed
  runner: ("start", t0) or ("stop",)     load from monotonic time t0, or (idle) close
  worker: ("done", LoadResult | None)
  worker: ("failed", text)               at any point, instead of the above
A room's three connections live in one worker, so sender and receivers share a clock.
"""

from __future__ import annotations

import asyncio
import gc
import resource
import time
import traceback
from array import array
from collections.abc import MutableSequence
from dataclasses import dataclass, field
from typing import Any

from orderchat.bench.load import OPENED, Load, LoadResult
from orderchat.bench.rooms import (
    Target,
    close_connections,
    create_rooms,
    new_rooms,
    open_connections,
)
from orderchat.bench.schedule import ROLES, Schedule
from orderchat.bench.storm_model import StormPlan


@dataclass(frozen=True)
class Plan:
    target: Target
    rooms: range  # global room numbers this worker owns
    open_rate: float  # this worker's share of --open-rate
    schedule: Schedule | None  # None: idle mode (open, hold, close)
    connections: int | None = None  # open only connections ``room * 3 + role`` below this
    warmup: float = 0.0
    drain_timeout: float = 10.0
    storm: StormPlan | None = None  # storm mode (storm.py)


@dataclass
class OpenResult:
    connections: int = 0
    handshake_t: array[float] = field(default_factory=lambda: array("d"))  # due, s
    handshake_ms: array[float] = field(default_factory=lambda: array("d"))
    failures: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0
    cpu_seconds: float = 0.0  # this worker's CPU while opening


def raise_fd_limit() -> None:
    """Thousands of sockets: lift the soft descriptor limit to the hard one."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


async def work(plan: Plan, pipe: Any, progress: MutableSequence[int]) -> None:
    async def recv() -> tuple[Any, ...]:
        message: tuple[Any, ...] = await asyncio.to_thread(pipe.recv)
        return message

    # No cyclic collection while setting up: with thousands of connections a full
    # collection pauses this process 100-200 ms (measured at 4,500), which would show
    # up as handshake latency. Frames are freed by reference counting anyway.
    gc.disable()
    target = plan.target
    rooms = new_rooms(target, plan.rooms)
    await create_rooms(target, rooms)
    pipe.send(("rooms",))
    await recv()  # ("open",)
    if plan.storm is not None:
        from orderchat.bench.storm import storm_work

        await storm_work(plan, plan.storm, rooms, pipe, recv, progress)
        return
    opened = OpenResult()
    limit = plan.connections
    conns = [
        conn
        for room in rooms
        for conn in room.conns
        if limit is None or room.index * len(ROLES) + conn.role < limit
    ]
    loop = asyncio.get_running_loop()
    started, cpu = loop.time(), time.process_time()
    opened.handshake_t, opened.handshake_ms = await open_connections(
        target, conns, plan.open_rate, opened.failures, progress, OPENED
    )
    opened.seconds = loop.time() - started
    opened.cpu_seconds = time.process_time() - cpu
    opened.connections = sum(1 for conn in conns if conn.ws is not None)
    pipe.send(("opened", opened))
    # Everything set up so far lives to the end: frozen out of the collector's way, so
    # the collections of the load phase are small and do not pause the schedule.
    gc.freeze()
    gc.enable()
    command = await recv()
    result: LoadResult | None = None
    if command[0] == "start" and plan.schedule is not None:
        load = Load(target, plan.schedule, rooms, plan.warmup, progress)
        result = await load.run(float(command[1]), plan.drain_timeout)
    else:
        await close_connections(conns)
    pipe.send(("done", result))


def worker_main(plan: Plan, pipe: Any, progress: MutableSequence[int]) -> None:
    """Entry point of a worker process."""
    raise_fd_limit()
    try:
        import uvloop

        uvloop.run(work(plan, pipe, progress))
    except BaseException:
        pipe.send(("failed", traceback.format_exc(limit=8)))
