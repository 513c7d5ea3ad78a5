"""The bench's client side: rooms with a customer and a vendor WebSocket each, exchanging
messages, and the latencies they saw. Runs in the bench process or in worker processes
(``--clients``), so the load generator is not the bottleneck of what it measures."""

from __future__ import annotations

import asyncio
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import httpx
import orjson
from websockets.asyncio.client import ClientConnection, connect

from orderchat.identity import issue_token

SEND_INTERVAL_SECONDS = 0.12  # stay under the default 10/s per-sender rate limit
READ_TIMEOUT_SECONDS = 60.0


@dataclass
class Results:
    ack_ms: list[float] = field(default_factory=list)
    deliver_ms: list[float] = field(default_factory=list)
    errors: int = 0
    error_codes: dict[str, int] = field(default_factory=dict)
    timeouts: int = 0
    failed_rooms: int = 0  # set-up or connection failures (the room's messages are lost)
    cpu_seconds: float = 0.0  # the client process(es) CPU time spent on the load

    def merge(self, other: Results) -> None:
        self.ack_ms.extend(other.ack_ms)
        self.deliver_ms.extend(other.deliver_ms)
        self.errors += other.errors
        for code, n in other.error_codes.items():
            self.error_codes[code] = self.error_codes.get(code, 0) + n
        self.timeouts += other.timeouts
        self.failed_rooms += other.failed_rooms
        self.cpu_seconds += other.cpu_seconds


async def run_rooms(base: str, secret: str, rooms: int, messages: int) -> Results:
    """Run ``rooms`` rooms concurrently in this process's event loop."""
    results = Results()
    cpu = time.process_time()
    async with httpx.AsyncClient() as http:
        await asyncio.gather(*(_pair(base, secret, messages, http, results) for _ in range(rooms)))
    results.cpu_seconds = time.process_time() - cpu
    return results


async def _room(
    base: str, secret: str, messages: int, http: httpx.AsyncClient, results: Results
) -> None:
    try:
        await _pair(base, secret, messages, http, results)
    except Exception as error:  # an overloaded server refusing or dropping: count it
        results.failed_rooms += 1
        key = type(error).__name__
        results.error_codes[key] = results.error_codes.get(key, 0) + 1


async def _pair(
    base: str, secret: str, messages: int, http: httpx.AsyncClient, results: Results
) -> None:
    oid, cust, vend = (str(uuid.uuid4()) for _ in range(3))
    svc = issue_token(secret, sub=str(uuid.uuid4()), role="service")
    created = await http.post(
        base + "/v1/events",
        json={"eventType": "order.accepted", "orderId": oid, "customerId": cust, "vendorId": vend},
        headers={"Authorization": f"Bearer {svc}"},
    )
    created.raise_for_status()
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
            while seen < messages:
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
                    code = str(data.get("code"))
                    results.error_codes[code] = results.error_codes.get(code, 0) + 1
                    if want == "messageAck":
                        seen += 1

        readers = [
            asyncio.create_task(receive(a, "messageAck")),
            asyncio.create_task(receive(b, "newMessage")),
        ]
        for i in range(messages):
            cmid = f"b{i}"
            sent_at[cmid] = time.perf_counter()
            frame = {"message": f"bench message {i}", "clientMessageId": cmid}
            await a.send(orjson.dumps({"event": "sendMessage", "data": frame}).decode())
            await asyncio.sleep(SEND_INTERVAL_SECONDS)
        _done, pending = await asyncio.wait(readers, timeout=READ_TIMEOUT_SECONDS)
        for task in pending:  # a frame never came (an error or a lost message): count it
            task.cancel()
            results.timeouts += 1


def worker_main(base: str, secret: str, rooms: int, messages: int, barrier: Any, out: Any) -> None:
    """A ``--clients`` worker process: wait until every worker is ready, run, report."""
    barrier.wait()
    results = Results()
    try:
        results = asyncio.run(run_rooms(base, secret, rooms, messages))
    finally:  # the parent waits for one result per worker
        out.put(results)
