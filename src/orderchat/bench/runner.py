"""Open rooms, connect their customer and vendor over WebSocket, exchange messages, measure.

Figures: send->ack and send->newMessage latency (p50/p95/p99/max), messages per second,
and, when the bench started the server itself, the server's resident memory and the CPU
time it used during the run (from /proc). The load runs in this process or, with
``clients > 1``, in that many worker processes whose results are merged; the CPU time
the load generator used is reported too, so a saturated client is visible.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from orderchat.bench.load import Results, run_rooms, worker_main


@dataclass
class Options:
    url: str | None
    secret: str | None
    rooms: int
    messages: int
    database_url: str | None
    redis_url: str | None
    clients: int = 1


def _pct(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def _rss_kib(pid: int) -> int | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


def _cpu_seconds(pid: int) -> float | None:
    """User + system CPU time of the process so far (/proc/<pid>/stat utime, stime)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat.rsplit(")", 1)[1].split()  # the name in parentheses may hold spaces
    ticks = int(fields[11]) + int(fields[12])  # fields 14 and 15 of proc(5)
    return ticks / os.sysconf("SC_CLK_TCK")


async def _wait_healthy(url: str, proc: subprocess.Popen[bytes] | None) -> None:
    async with httpx.AsyncClient() as client:
        for _ in range(300):
            if proc is not None and proc.poll() is not None:
                raise SystemExit("orderchat bench: the server exited during start-up")
            try:
                if (await client.get(url + "/healthz", timeout=1)).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            await asyncio.sleep(0.1)
    raise SystemExit("orderchat bench: the server did not become healthy")


def _split(rooms: int, clients: int) -> list[int]:
    """``rooms`` spread over ``clients`` workers as evenly as possible (no empty worker)."""
    clients = max(1, min(clients, rooms))
    return [rooms // clients + (1 if i < rooms % clients else 0) for i in range(clients)]


async def _load(opts: Options, base: str, secret: str) -> tuple[Results, float]:
    """Run the load; returns the merged results and the seconds it took."""
    shares = _split(opts.rooms, opts.clients)
    if len(shares) == 1:
        started = time.perf_counter()
        results = await run_rooms(base, secret, opts.rooms, opts.messages)
        return results, time.perf_counter() - started
    ctx = multiprocessing.get_context("spawn")
    barrier = ctx.Barrier(len(shares) + 1)
    out: Any = ctx.Queue()
    procs = [
        ctx.Process(
            target=worker_main, args=(base, secret, n, opts.messages, barrier, out), daemon=True
        )
        for n in shares
    ]
    for proc in procs:
        proc.start()
    try:
        # every worker has imported and is ready: the clock starts for all at once
        await asyncio.to_thread(barrier.wait, 120)
        started = time.perf_counter()
        results = Results()
        for _ in procs:
            results.merge(await asyncio.to_thread(out.get, True, 300))
        elapsed = time.perf_counter() - started
    finally:
        for proc in procs:
            proc.join(10)
            if proc.is_alive():
                proc.kill()
    return results, elapsed


async def run(opts: Options) -> dict[str, Any]:
    proc: subprocess.Popen[bytes] | None = None
    tmp = None
    if opts.url is None:
        tmp = tempfile.TemporaryDirectory(prefix="orderchat-bench-")
        secret = opts.secret or "bench-" + uuid.uuid4().hex + uuid.uuid4().hex
        port = _free_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith("ORDERCHAT_")}
        env.update(
            ORDERCHAT_PORT=str(port),
            ORDERCHAT_DATA_DIR=tmp.name,
            ORDERCHAT_JWT_SECRET=secret,
            ORDERCHAT_LOG_LEVEL="warning",
        )
        if opts.database_url:
            env["ORDERCHAT_DATABASE_URL"] = opts.database_url
        if opts.redis_url:
            env["ORDERCHAT_REDIS_URL"] = opts.redis_url
        # Popen returns at once; the bench then polls /healthz asynchronously.
        proc = subprocess.Popen([sys.executable, "-m", "orderchat", "serve"], env=env)  # noqa: ASYNC220
        base = f"http://127.0.0.1:{port}"
    else:
        if not opts.secret:
            raise SystemExit("orderchat bench: --url needs --secret (or ORDERCHAT_JWT_SECRET)")
        secret, base = opts.secret, opts.url.rstrip("/")
    try:
        await _wait_healthy(base, proc)
        rss_start = _rss_kib(proc.pid) if proc else None
        cpu_start = _cpu_seconds(proc.pid) if proc else None
        results, elapsed = await _load(opts, base, secret)
        cpu_end = _cpu_seconds(proc.pid) if proc else None
        rss_end = _rss_kib(proc.pid) if proc else None
    finally:
        if proc is not None:
            proc.terminate()
            proc.wait(30)
        if tmp is not None:
            tmp.cleanup()
    total = opts.rooms * opts.messages
    server_cpu = cpu_end - cpu_start if cpu_start is not None and cpu_end is not None else None
    return {
        "rooms": opts.rooms,
        "connections": opts.rooms * 2,
        "messages": total,
        "clients": len(_split(opts.rooms, opts.clients)),
        "errors": results.errors,
        "error_codes": results.error_codes,
        "readers_timed_out": results.timeouts,
        "failed_rooms": results.failed_rooms,
        "seconds": round(elapsed, 2),
        "messages_per_second": round(total / elapsed, 1),
        "ack_ms": _summary(results.ack_ms),
        "deliver_ms": _summary(results.deliver_ms),
        "server_rss_mib": {
            "start": round(rss_start / 1024, 1) if rss_start else None,
            "end": round(rss_end / 1024, 1) if rss_end else None,
        },
        "server_cpu": {
            "seconds": round(server_cpu, 2) if server_cpu is not None else None,
            "percent_of_one_core": round(100 * server_cpu / elapsed, 1)
            if server_cpu is not None
            else None,
        },
        "client_cpu": {
            "seconds": round(results.cpu_seconds, 2),
            "percent_of_one_core": round(100 * results.cpu_seconds / elapsed, 1),
        },
    }


def _summary(values: list[float]) -> dict[str, float]:
    if not values:
        return {}
    return {
        "n": len(values),
        "p50": round(statistics.median(values), 2),
        "p95": round(_pct(values, 95), 2),
        "p99": round(_pct(values, 99), 2),
        "max": round(max(values), 2),
    }


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])
