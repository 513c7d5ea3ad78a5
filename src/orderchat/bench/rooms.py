"""Setting up the bench's rooms through the public API and opening their connections.

Each room is one order with its own customer, vendor and rider (three distinct users, so
the per-user connection limit never matters), opened by ``order.accepted`` and
``order.rider_assigned`` posted with a service token. Connections open on an open-loop
schedule (``open_rate`` per second) and each handshake is timed up to the ``connected``
frame. Each connection is a picows listener (``link.py``).
"""

from __future__ import annotations

import asyncio
import time
import uuid
from array import array
from collections.abc import Callable, MutableSequence, Sequence
from dataclasses import dataclass, field

import httpx
import orjson

try:
    from picows import WSInvalidStatusError, ws_connect
except ImportError as missing:  # an install without the extra
    raise ImportError("orderchat bench needs picows: pip install 'orderchat[bench]'") from missing

from orderchat.bench.integrity import SeqTracker
from orderchat.bench.link import Conn, Link
from orderchat.bench.schedule import ROLES
from orderchat.client.dialer import retry_after_delay
from orderchat.identity import issue_token

HTTP_CONCURRENCY = 32
OPEN_TIMEOUT_SECONDS = 30.0  # a slower handshake counts as failed (TimeoutError)
TOKEN_TTL_SECONDS = 6 * 3600


@dataclass(frozen=True)
class Target:
    base: str  # http(s)://host:port
    secret: str
    issuer: str | None = None
    audience: str | None = None

    def token(self, sub: str, role: str) -> str:
        return issue_token(
            self.secret,
            sub=sub,
            role=role,
            ttl_seconds=TOKEN_TTL_SECONDS,
            issuer=self.issuer,
            audience=self.audience,
        )

    @property
    def ws_base(self) -> str:
        return "ws" + self.base[4:] if self.base.startswith("http") else self.base


@dataclass(eq=False)
class Room:
    index: int  # global room number (the schedule's)
    order_id: str
    users: tuple[str, str, str]
    tokens: tuple[str, str, str]
    conns: list[Conn] = field(default_factory=list)
    sent: int = 0
    acked: int = 0
    refused: int = 0  # sends answered by an error frame
    last_seq: int | None = None  # from REST at the end


def new_rooms(target: Target, indexes: Sequence[int]) -> list[Room]:
    rooms = []
    for index in indexes:
        users = (str(uuid.uuid4()), str(uuid.uuid4()), str(uuid.uuid4()))
        tokens = (
            target.token(users[0], ROLES[0]),
            target.token(users[1], ROLES[1]),
            target.token(users[2], ROLES[2]),
        )
        room = Room(index=index, order_id=str(uuid.uuid4()), users=users, tokens=tokens)
        room.conns = [Conn(room=room, role=r) for r in range(len(ROLES))]
        rooms.append(room)
    return rooms


async def create_rooms(target: Target, rooms: Sequence[Room]) -> None:
    """Post each room's order.accepted and order.rider_assigned (raises on a refusal)."""
    service = {"Authorization": "Bearer " + target.token(str(uuid.uuid4()), "service")}
    limit = asyncio.Semaphore(HTTP_CONCURRENCY)
    limits = httpx.Limits(max_connections=HTTP_CONCURRENCY)
    async with httpx.AsyncClient(base_url=target.base, headers=service, limits=limits) as http:

        async def one(room: Room) -> None:
            customer, vendor, rider = room.users
            events = (
                {"eventType": "order.accepted", "customerId": customer, "vendorId": vendor},
                {"eventType": "order.rider_assigned", "riderId": rider},
            )
            async with limit:
                for event in events:
                    answer = await http.post("/v1/events", json={**event, "orderId": room.order_id})
                    answer.raise_for_status()

        await asyncio.gather(*(one(room) for room in rooms))


async def open_connections(
    target: Target,
    conns: Sequence[Conn],
    open_rate: float,
    failures: dict[str, int],
    progress: MutableSequence[int] | None = None,
    slot: int = 0,
    make_link: Callable[[Conn], Link] = Link,
    retry_shed: bool = False,
) -> tuple[array[float], array[float]]:
    """Open ``conns`` at ``open_rate`` per second. Returns, per opened connection, when it
    was due (seconds after the first) and its handshake time in ms (upgrade request to
    the ``connected`` frame). With ``retry_shed``, a 503 with Retry-After is retried as
    the Python client does (the wait counts in the handshake time). A failed open is
    counted in ``failures`` by exception type and leaves ``conn.ws`` None. Each open adds
    one to ``progress[slot]``."""
    due_s: array[float] = array("d")
    handshake_ms: array[float] = array("d")

    async def open_one(conn: Conn, due: float) -> None:
        room = conn.room
        url = f"{target.ws_base}/chat?orderId={room.order_id}"
        headers = {"Authorization": "Bearer " + room.tokens[conn.role]}
        started = time.perf_counter()
        while True:
            link = make_link(conn)
            try:
                # Client pings off (the server pings; picows answers them), no compression
                # (picows has none): the bench's own CPU goes to the load.
                async with asyncio.timeout(OPEN_TIMEOUT_SECONDS):
                    await ws_connect(
                        lambda: link,  # noqa: B023 (awaited within the iteration)
                        url,
                        extra_headers=headers,
                        enable_auto_ping=False,
                        websocket_handshake_timeout=OPEN_TIMEOUT_SECONDS,
                    )
                    first = orjson.loads(await link.first)
                break
            except Exception as error:  # any refusal or drop is counted, never fatal
                if link.transport is not None:
                    link.closing = True
                    link.transport.disconnect(graceful=False)
                wait = _shed(error) if retry_shed else None
                if wait is not None and time.perf_counter() - started < OPEN_TIMEOUT_SECONDS:
                    await asyncio.sleep(retry_after_delay(wait))  # timed: in handshake_ms
                    continue
                key = type(error).__name__
                failures[key] = failures.get(key, 0) + 1
                return
        elapsed = time.perf_counter() - started
        if not isinstance(first, dict) or first.get("event") != "connected":
            failures["no connected frame"] = failures.get("no connected frame", 0) + 1
            await link.close()
            return
        due_s.append(due)
        handshake_ms.append(elapsed * 1000)
        conn.tracker = SeqTracker(int(first["data"].get("lastSeq") or 0))
        conn.ws = link
        if progress is not None:
            progress[slot] += 1

    tasks = []
    start = time.monotonic()
    for j, conn in enumerate(conns):
        delay = start + j / open_rate - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(open_one(conn, j / open_rate)))
    await asyncio.gather(*tasks)
    return due_s, handshake_ms


def _shed(error: Exception) -> int | None:
    """The Retry-After of a 503 refusal, else None."""
    response = getattr(error, "response", None)
    if not isinstance(error, WSInvalidStatusError) or response is None or response.status != 503:
        return None
    hint = response.headers.get("retry-after")
    return int(hint) if hint is not None and hint.isdigit() else None


async def close_connections(conns: Sequence[Conn]) -> None:
    async def close(conn: Conn) -> None:
        if conn.ws is not None:
            await conn.ws.close()

    await asyncio.gather(*(close(conn) for conn in conns), return_exceptions=True)


async def fetch_last_seqs(target: Target, rooms: Sequence[Room]) -> int:
    """Read each room's ``lastSeq`` over REST (its stored message count: seqs have no
    holes); returns how many rooms could not be read."""
    limit = asyncio.Semaphore(HTTP_CONCURRENCY)
    failed = 0
    limits = httpx.Limits(max_connections=HTTP_CONCURRENCY)
    async with httpx.AsyncClient(base_url=target.base, limits=limits, timeout=10) as http:

        async def one(room: Room) -> None:
            nonlocal failed
            headers = {"Authorization": "Bearer " + room.tokens[0]}
            async with limit:
                try:
                    answer = await http.get(f"/v1/rooms/{room.order_id}", headers=headers)
                    answer.raise_for_status()
                    room.last_seq = int(answer.json()["lastSeq"])
                except (httpx.HTTPError, KeyError, ValueError):
                    failed += 1

        await asyncio.gather(*(one(room) for room in rooms))
    return failed
