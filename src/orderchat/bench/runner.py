"""Open rooms, connect their customer and vendor over WebSocket, exchange messages, measure.

Figures: send->ack and send->newMessage latency (p50/p95/p99/max), messages per second,
and the server's resident memory when the bench started the server itself.
"""

from __future__ import annotations

import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import orjson
from websockets.asyncio.client import ClientConnection, connect

from orderchat.identity import issue_token


@dataclass
class Options:
    url: str | None
    secret: str | None
    rooms: int
    messages: int
    database_url: str | None
    redis_url: str | None


@dataclass
class Results:
    ack_ms: list[float] = field(default_factory=list)
    deliver_ms: list[float] = field(default_factory=list)
    errors: int = 0
    timeouts: int = 0


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


async def _pair(
    opts: Options, base: str, secret: str, http: httpx.AsyncClient, results: Results
) -> None:
    oid, cust, vend = (str(uuid.uuid4()) for _ in range(3))
    svc = issue_token(secret, sub=str(uuid.uuid4()), role="service")
    await http.post(
        base + "/v1/events",
        json={"eventType": "order.accepted", "orderId": oid, "customerId": cust, "vendorId": vend},
        headers={"Authorization": f"Bearer {svc}"},
    )
    ws_base = base.replace("http", "ws", 1)
    sent_at: dict[str, float] = {}

    def hdr(sub: str, role: str) -> dict[str, str]:
        return {"Authorization": "Bearer " + issue_token(secret, sub=sub, role=role)}

    async with (
        connect(f"{ws_base}/chat?orderId={oid}", additional_headers=hdr(cust, "customer")) as a,
        connect(f"{ws_base}/chat?orderId={oid}", additional_headers=hdr(vend, "vendor")) as b,
    ):
        await a.recv()
        await b.recv()

        async def receive(ws: ClientConnection, want: str) -> None:
            seen = 0
            while seen < opts.messages:
                frame = orjson.loads(await ws.recv())
                event, data = frame.get("event"), frame.get("data", {})
                if event == want:
                    cmid = data.get("clientMessageId")
                    if cmid in sent_at:
                        ms = (time.perf_counter() - sent_at[cmid]) * 1000
                        (results.ack_ms if want == "messageAck" else results.deliver_ms).append(ms)
                    seen += 1
                elif event == "error":
                    results.errors += 1
                    if want == "messageAck":
                        seen += 1

        readers = [
            asyncio.create_task(receive(a, "messageAck")),
            asyncio.create_task(receive(b, "newMessage")),
        ]
        for i in range(opts.messages):
            cmid = f"b{i}"
            sent_at[cmid] = time.perf_counter()
            frame = {"message": f"bench message {i}", "clientMessageId": cmid}
            await a.send(orjson.dumps({"event": "sendMessage", "data": frame}).decode())
            await asyncio.sleep(0.12)  # stay under the default 10/s per-sender rate limit
        _done, pending = await asyncio.wait(readers, timeout=60)
        for task in pending:  # a frame never came (an error or a lost message): count it
            task.cancel()
            results.timeouts += 1


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
        results = Results()
        started = time.perf_counter()
        async with httpx.AsyncClient() as http:
            await asyncio.gather(
                *(_pair(opts, base, secret, http, results) for _ in range(opts.rooms))
            )
        elapsed = time.perf_counter() - started
        rss_end = _rss_kib(proc.pid) if proc else None
    finally:
        if proc is not None:
            proc.terminate()
            proc.wait(30)
        if tmp is not None:
            tmp.cleanup()
    total = opts.rooms * opts.messages
    return {
        "rooms": opts.rooms,
        "connections": opts.rooms * 2,
        "messages": total,
        "errors": results.errors,
        "readers_timed_out": results.timeouts,
        "seconds": round(elapsed, 2),
        "messages_per_second": round(total / elapsed, 1),
        "ack_ms": _summary(results.ack_ms),
        "deliver_ms": _summary(results.deliver_ms),
        "server_rss_mib": {
            "start": round(rss_start / 1024, 1) if rss_start else None,
            "end": round(rss_end / 1024, 1) if rss_end else None,
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
