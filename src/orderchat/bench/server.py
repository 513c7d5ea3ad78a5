"""The server under test: started by the bench (``python -m orderchat serve`` on a free
port with a generated secret) or given by URL, and its process figures from /proc."""

from __future__ import annotations

import asyncio
import math
import os
import secrets
import socket
import subprocess
import sys
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

HEALTHY_TIMEOUT_SECONDS = 60.0


@dataclass(frozen=True)
class Server:
    base: str
    secret: str
    pid: int | None  # known when local: /proc figures are read from it


def rss_kib(pid: int) -> int | None:
    """Resident memory (VmRSS) of the process, KiB; None if it cannot be read."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU time of the process so far (/proc/<pid>/stat utime, stime)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat.rsplit(")", 1)[1].split()  # the name in parentheses may hold spaces
    ticks = int(fields[11]) + int(fields[12])  # fields 14 and 15 of proc(5)
    return ticks / os.sysconf("SC_CLK_TCK")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def wait_healthy(base: str, proc: subprocess.Popen[bytes] | None) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + HEALTHY_TIMEOUT_SECONDS
    async with httpx.AsyncClient() as client:
        while loop.time() < deadline:
            if proc is not None and proc.poll() is not None:
                raise SystemExit("orderchat bench: the server exited during start-up")
            try:
                if (await client.get(base + "/healthz", timeout=1)).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            await asyncio.sleep(0.1)
    raise SystemExit(f"orderchat bench: {base} did not become healthy")


@asynccontextmanager
async def own_server(
    database_url: str | None,
    redis_url: str | None,
    sender_limit: float | None = None,
    secret: str | None = None,
) -> AsyncIterator[Server]:
    """Start ``orderchat serve`` in a temporary data directory; stop it on exit. With
    ``sender_limit``, its per-sender message rate limit (burst twice that)."""
    with tempfile.TemporaryDirectory(prefix="orderchat-bench-") as tmp:
        secret = secret or secrets.token_urlsafe(48)  # two instances share one
        port = _free_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith("ORDERCHAT_")}
        env.update(
            ORDERCHAT_PORT=str(port),
            ORDERCHAT_DATA_DIR=tmp,
            ORDERCHAT_JWT_SECRET=secret,
            ORDERCHAT_LOG_LEVEL="warning",
        )
        if database_url:
            env["ORDERCHAT_DATABASE_URL"] = database_url
        if redis_url:
            env["ORDERCHAT_REDIS_URL"] = redis_url
        if sender_limit is not None:
            env["ORDERCHAT_RATE_PER_SECOND"] = f"{sender_limit:g}"
            env["ORDERCHAT_RATE_BURST"] = str(max(1, math.ceil(2 * sender_limit)))
        # Popen returns at once; the bench then polls /healthz asynchronously.
        proc = subprocess.Popen(  # noqa: ASYNC220
            [sys.executable, "-m", "orderchat", "serve"], env=env
        )
        try:
            base = f"http://127.0.0.1:{port}"
            await wait_healthy(base, proc)
            yield Server(base=base, secret=secret, pid=proc.pid)
        finally:
            proc.terminate()
            try:
                await asyncio.to_thread(proc.wait, 30)
            except subprocess.TimeoutExpired:
                proc.kill()
                await asyncio.to_thread(proc.wait, 10)


@asynccontextmanager
async def remote_server(url: str, secret: str, pid: int | None) -> AsyncIterator[Server]:
    base = url.rstrip("/")
    await wait_healthy(base, None)
    yield Server(base=base, secret=secret, pid=pid)
