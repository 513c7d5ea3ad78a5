"""The Redis fan-out listener's health check: a PING when the link was quiet, and the end of
the read when nothing, not even the pong, came back in time (realtime/redis_fanout.py)."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from redis.asyncio.connection import AbstractConnection

if TYPE_CHECKING:
    from orderchat.realtime.redis_fanout import RedisFanout


class Watchdog:
    """The listener's health check, on a timer beside its reads (see RedisFanout._listen_once)."""

    def __init__(
        self,
        fanout: RedisFanout,
        conn: AbstractConnection,
        deadline: asyncio.Timeout,
        loop: asyncio.AbstractEventLoop,
    ) -> None:
        self._fanout = fanout
        self._conn = conn
        self._deadline = deadline
        self._loop = loop
        self._ping: asyncio.Task[None] | None = None
        self.failure: BaseException | None = None
        self._timer = loop.call_later(fanout._health_interval / 2, self._tick)

    def _tick(self) -> None:
        f = self._fanout
        now = self._loop.time()
        if now - f._last_seen > f._health_interval + f._ping_timeout:
            self._fail(TimeoutError(f"no answer to PING for {now - f._last_seen:.1f}s"))
            return
        if now - max(f._last_seen, f._ping_sent) >= f._health_interval and (
            self._ping is None or self._ping.done()
        ):
            f._ping_sent = now
            self._ping = self._loop.create_task(self._send_ping(), name="redis-fanout-ping")
        self._timer = self._loop.call_later(f._health_interval / 2, self._tick)

    async def _send_ping(self) -> None:
        try:
            await asyncio.wait_for(self._conn.send_command("PING"), self._fanout._io_timeout)
        except Exception as exc:
            self._fail(exc)

    def _fail(self, exc: BaseException) -> None:
        if self.failure is None:
            self.failure = exc
            self._deadline.reschedule(self._loop.time())  # ends the read now

    def stop(self) -> None:
        self._timer.cancel()
        if self._ping is not None:
            self._ping.cancel()
