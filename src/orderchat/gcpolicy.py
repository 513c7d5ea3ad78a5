"""When the cyclic garbage collector runs in ``orderchat serve``.

CPython's default runs a full (oldest generation) collection whenever the long-lived
objects have grown by a quarter. Each full collection walks every tracked object, and
every open connection keeps a few dozen: with thousands of connections a full
collection takes 100-300 ms, and while connections are being opened (each one adds
long-lived objects) it comes back every few seconds, stalling every handshake and
message in flight. Measured with ``orderchat bench --idle 10000 --open-rate 500``:
handshake p95 146 ms with the default, 8.7 ms with no full collection during the run.

So, in ``serve`` only:

- at startup the ~130,000 objects that live as long as the process (modules, the app,
  SQLAlchemy and pydantic machinery) are frozen out of the collector's view
  (``gc.freeze()``, as the Python docs suggest for such objects);
- the young generations are collected as usual (what a handshake or a message leaves
  in cycles, e.g. uvicorn's HTTP protocol and its parser, dies young and is freed
  there);
- the full collection runs on a timer, every ``FULL_EVERY_SECONDS``, instead of
  whenever the connection count grows: one pause a minute at most, and cycles of
  closed long-lived connections are freed within that time.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import time

log = logging.getLogger("orderchat")

FULL_EVERY_SECONDS = 60.0
# generation 2 is then only collected by the timer (the count of generation-1
# collections never reaches this between two timed collections)
NO_AUTOMATIC_FULL = 1_000_000


class GcPolicy:
    def __init__(self, every: float = FULL_EVERY_SECONDS) -> None:
        self.every = every
        self._task: asyncio.Task[None] | None = None
        self._saved: tuple[int, int, int] | None = None

    async def start(self) -> None:
        gc.collect()
        gc.freeze()
        self._saved = gc.get_threshold()
        gen0, gen1, _ = self._saved
        gc.set_threshold(gen0, gen1, NO_AUTOMATIC_FULL)
        self._task = asyncio.get_running_loop().create_task(self._timed_full())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self._saved is not None:
            gc.set_threshold(*self._saved)

    async def _timed_full(self) -> None:
        while True:
            await asyncio.sleep(self.every)
            started = time.perf_counter()
            found = gc.collect(2)
            log.debug(
                "full gc: %d unreachable, %.1f ms", found, (time.perf_counter() - started) * 1e3
            )
