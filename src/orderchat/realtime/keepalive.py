"""One keepalive sweep for all ``/chat`` connections (a timer each would cost ~0.5 KiB
per idle connection): ping a connection silent for ``interval`` seconds, drop one
silent for ``timeout`` seconds. Any byte from the client counts (a pong included)."""

from __future__ import annotations

import asyncio
from typing import Protocol


class Pingable(Protocol):
    last_rx: float  # loop time of the last byte received

    def ping(self) -> None: ...

    def drop_silent(self) -> None: ...


class Keepalive:
    """Pings every connection that has been silent for ``interval`` seconds and drops
    one silent for ``timeout`` seconds: one sweep over all connections per interval."""

    def __init__(self, interval: float, timeout: float) -> None:
        self.interval = interval
        self.timeout = timeout
        self.conns: set[Pingable] = set()
        self._task: asyncio.Task[None] | None = None

    def add(self, wire: Pingable) -> None:
        self.conns.add(wire)
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._sweep())

    async def _sweep(self) -> None:
        loop = asyncio.get_running_loop()
        while self.conns:
            await asyncio.sleep(self.interval)
            now = loop.time()
            for wire in list(self.conns):
                silent = now - wire.last_rx
                if silent >= self.timeout:
                    wire.drop_silent()
                elif silent >= self.interval:
                    wire.ping()
