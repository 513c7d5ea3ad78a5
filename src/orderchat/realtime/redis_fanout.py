"""Fan-out between instances through Redis Pub/Sub (plain SUBSCRIBE, one channel per room).

Two independent paths, so that neither waits on the other nor on a sick Redis:

- the *listener*: one dedicated connection in subscribed mode, supervised by a task that
  reconnects with capped exponential backoff and jitter, re-subscribes every current room,
  then calls ``on_reconnect`` so the hub resynchronises from the store. A PING every
  ``health_interval`` with a deadline detects a hung server (SIGSTOP), not only a closed one;
- the *sender* (realtime/redis_publisher.py): ``publish`` only appends to a bounded queue;
  a task sends it over a separate client with short socket timeouts.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import random
from collections.abc import Callable
from typing import Any

from redis.asyncio import ConnectionPool, Redis
from redis.asyncio.connection import AbstractConnection
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import RedisError

from orderchat.metrics import Metrics
from orderchat.realtime.fanout import Handler
from orderchat.realtime.redis_publisher import RedisPublisher
from orderchat.realtime.redis_watchdog import Watchdog
from orderchat.services import Services

log = logging.getLogger("orderchat.fanout")

CHANNEL_PREFIX = "orderchat:room:"
# Always subscribed, so the connection stays in subscribed mode even with no rooms.
IDLE_CHANNEL = b"orderchat:fanout:idle"


class RedisFanout:
    """The Fanout interface (realtime/fanout.py) over Redis Pub/Sub."""

    def __init__(
        self,
        url: str,
        metrics: Metrics,
        *,
        queue_size: int = 10_000,
        health_interval: float = 1.0,
        ping_timeout: float = 2.0,
        io_timeout: float = 1.0,
        backoff_base: float = 0.1,
        backoff_cap: float = 5.0,
        batch_size: int = 500,
    ) -> None:
        self.on_reconnect: Callable[[], None] | None = None
        self._metrics = metrics
        self._health_interval = health_interval
        self._ping_timeout = ping_timeout
        self._io_timeout = io_timeout
        self._backoff_base = backoff_base
        self._backoff_cap = backoff_cap
        opts: dict[str, Any] = {
            "socket_connect_timeout": io_timeout,
            "socket_timeout": io_timeout,
            "retry": Retry(NoBackoff(), 0),
            "protocol": 2,  # pub/sub messages as plain replies, not RESP3 push frames
        }
        self._listen_pool: ConnectionPool = ConnectionPool.from_url(url, **opts)
        self._client = Redis.from_url(url, **opts)
        self._publisher = RedisPublisher(
            self._client,
            queue_size=queue_size,
            batch_size=batch_size,
            backoff_base=backoff_base,
            backoff_cap=backoff_cap,
            flush_timeout=io_timeout,
        )
        self._rooms: dict[str, Handler] = {}
        self._handlers: dict[bytes, Handler] = {}  # the same, by channel (as Redis sends it)
        self._waiters: dict[bytes, list[asyncio.Future[None]]] = {}
        self._conn: AbstractConnection | None = None
        self._up = False
        self._closing = False
        self._last_seen = 0.0  # the listener's last reply, and its last PING (loop time)
        self._ping_sent = 0.0
        self._first_attempt = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        metrics.backplane_up.set(0)

    # -- the Fanout interface -------------------------------------------------------------

    @property
    def healthy(self) -> bool:
        return self._up

    @property
    def dropped(self) -> int:
        """Payloads the sender gave up on (queue full, or a non-transient error)."""
        return self._publisher.dropped

    @property
    def publish_failures(self) -> int:
        return self._publisher.failures

    async def start(self, wait: float = 2.0) -> None:
        """Start listener and sender; wait (briefly) for the first connection attempt."""
        self._publisher.start()
        self._tasks = [asyncio.create_task(self._listen_forever(), name="redis-fanout-listener")]
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._first_attempt.wait(), wait)

    async def close(self) -> None:
        self._closing = True
        await self._publisher.close()  # flushes what is queued, briefly
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks = []
        await self._drop_connection()
        await self._client.aclose()
        await self._listen_pool.disconnect()

    async def subscribe(self, room: str, handler: Handler) -> None:
        """Record the room; when connected, return once Redis confirmed the subscription."""
        self._rooms[room] = handler
        self._handlers[(CHANNEL_PREFIX + room).encode()] = handler
        conn = self._conn
        if conn is None:
            return  # the listener subscribes every room when it (re)connects
        channel = (CHANNEL_PREFIX + room).encode()
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.setdefault(channel, []).append(done)
        try:
            await asyncio.wait_for(conn.send_command("SUBSCRIBE", channel), self._io_timeout)
            await asyncio.wait_for(asyncio.shield(done), self._io_timeout)
        except (TimeoutError, RedisError, OSError) as exc:
            log.warning("redis subscribe room=%s not confirmed: %s", room, _why(exc))
        finally:
            waiters = self._waiters.get(channel, [])
            if done in waiters:
                waiters.remove(done)

    async def unsubscribe(self, room: str) -> None:
        if self._rooms.pop(room, None) is None:
            return
        self._handlers.pop((CHANNEL_PREFIX + room).encode(), None)
        conn = self._conn
        if conn is None:
            return
        try:
            await asyncio.wait_for(
                conn.send_command("UNSUBSCRIBE", CHANNEL_PREFIX + room), self._io_timeout
            )
        except (TimeoutError, RedisError, OSError) as exc:
            log.warning("redis unsubscribe room=%s failed: %s", room, _why(exc))

    def publish(self, room: str, payload: bytes) -> None:
        self._publisher.publish((CHANNEL_PREFIX + room).encode(), payload)

    async def ping(self) -> None:
        """Readiness: fails while the listener is down, or when Redis does not answer."""
        if not self._up:
            raise ConnectionError("redis fan-out listener is down")
        await asyncio.wait_for(self._client.ping(), self._io_timeout)

    # -- listener ---------------------------------------------------------------------------

    async def _listen_forever(self) -> None:
        attempt = 0
        first = True
        while not self._closing:
            try:
                await self._listen_once(reconnect=not first)
            except asyncio.CancelledError:
                raise
            except (RedisError, OSError, TimeoutError) as exc:
                log.warning("redis fan-out listener lost: %s", _why(exc))
            except Exception:
                log.exception("redis fan-out listener crashed; restarting it")
            finally:
                first = False
                if self._up:  # it was connected: the next outage backs off from scratch
                    attempt = 0
                self._set_up(False)
                self._first_attempt.set()
                await self._drop_connection()
            if self._closing:
                return
            delay = min(self._backoff_cap, self._backoff_base * 2**attempt)
            attempt = min(attempt + 1, 30)
            await asyncio.sleep(delay * random.uniform(0.5, 1.0))

    async def _listen_once(self, *, reconnect: bool) -> None:
        conn = self._listen_pool.make_connection()  # type: ignore[no-untyped-call]
        await asyncio.wait_for(conn.connect(), self._io_timeout * 2)
        self._conn = conn
        channels = list(self._handlers)
        # A PING after the SUBSCRIBE: its pong proves every subscription is in place.
        await asyncio.wait_for(
            conn.send_packed_command(
                conn.pack_commands([("SUBSCRIBE", IDLE_CHANNEL, *channels), ("PING",)])
            ),
            self._io_timeout,
        )
        loop = asyncio.get_running_loop()
        self._last_seen = self._ping_sent = loop.time()
        # No timeout per read (redis-py's costs a timer per reply: ~1/3 of the listener's
        # CPU per message): a watchdog every half health interval sends the PING when the
        # link was quiet, and ends the read when nothing, not even the pong, came back.
        watch: Watchdog | None = None
        try:
            async with asyncio.timeout(None) as deadline:
                watch = Watchdog(self, conn, deadline, loop)
                try:
                    while not self._closing:
                        reply = await conn.read_response(timeout=math.inf)
                        self._last_seen = loop.time()
                        kind = reply[0] if isinstance(reply, list) and reply else None
                        if kind == b"message":
                            self._deliver(reply[1], reply[2])
                        elif kind == b"subscribe":
                            for done in self._waiters.pop(reply[1], []):
                                if not done.done():
                                    done.set_result(None)
                        elif kind == b"pong" and not self._up:
                            self._came_up(reconnect)
                finally:
                    watch.stop()
        except TimeoutError:
            if watch is not None and watch.failure is not None:  # the watchdog ended it
                raise watch.failure from None
            raise

    def _came_up(self, reconnect: bool) -> None:
        self._set_up(True)
        self._first_attempt.set()
        log.info("redis fan-out listener connected rooms=%d", len(self._rooms))
        if not reconnect:
            return
        self._metrics.backplane_reconnects_total.inc()
        if self.on_reconnect is not None:
            try:
                self.on_reconnect()
            except Exception:
                log.exception("on_reconnect hook failed")

    def _deliver(self, channel: bytes, payload: bytes) -> None:
        handler = self._handlers.get(channel)
        if handler is None:
            return
        try:
            handler(payload)
        except Exception:
            room = channel.decode(errors="replace").removeprefix(CHANNEL_PREFIX)
            log.exception("fan-out handler failed room=%s", room)

    def _set_up(self, up: bool) -> None:
        self._up = up
        self._metrics.backplane_up.set(1 if up else 0)

    async def _drop_connection(self) -> None:
        conn, self._conn = self._conn, None
        for waiters in self._waiters.values():
            for done in waiters:
                if not done.done():
                    done.set_exception(ConnectionError("redis connection lost"))
        self._waiters.clear()
        if conn is not None:
            with contextlib.suppress(Exception):
                await conn.disconnect(nowait=True)


def _why(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


def install_redis_fanout(services: Services) -> RedisFanout | None:
    """With ``ORDERCHAT_REDIS_URL`` set: the fan-out the hub takes, its hooks and readiness."""
    url = services.settings.redis_url
    if not url:
        return None
    fanout = RedisFanout(url, services.metrics)
    services.extras["fanout"] = fanout
    services.extras.setdefault("startup", []).append(fanout.start)
    services.extras.setdefault("shutdown", []).append(fanout.close)
    services.readiness["redis"] = fanout.ping
    return fanout
