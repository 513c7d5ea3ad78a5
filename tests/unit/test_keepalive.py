"""The keepalive sweep: a quiet connection is pinged, a silent one dropped, a live one left."""

from __future__ import annotations

import asyncio

from orderchat.realtime.keepalive import Keepalive


class Fake:
    def __init__(self, keepalive: Keepalive, silent_for: float) -> None:
        self.keepalive = keepalive
        self.last_rx = asyncio.get_running_loop().time() - silent_for
        self.pings = 0
        self.dropped = False

    def ping(self) -> None:
        self.pings += 1

    def drop_silent(self) -> None:
        self.dropped = True
        self.keepalive.conns.discard(self)


async def test_sweep_pings_the_quiet_and_drops_the_silent() -> None:
    keepalive = Keepalive(interval=0.05, timeout=10.0)
    live, quiet, silent = Fake(keepalive, -60), Fake(keepalive, 0.0), Fake(keepalive, 30.0)
    for conn in (live, quiet, silent):
        keepalive.add(conn)
    await asyncio.sleep(0.12)  # two sweeps
    assert live.pings == 0 and not live.dropped  # heard from "in the future": never quiet
    assert quiet.pings >= 1 and not quiet.dropped
    assert silent.dropped and silent.pings == 0
    assert silent not in keepalive.conns
    keepalive.conns.clear()
    await asyncio.sleep(0.06)  # the sweep ends once it has nothing to watch
    assert keepalive._task is not None and keepalive._task.done()
