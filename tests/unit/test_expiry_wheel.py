"""ExpiryWheel: one timer per second of expiry, every session of that second expired once."""

from __future__ import annotations

import asyncio
import time

from orderchat.realtime.session import ExpiryWheel


class Probe:
    def __init__(self) -> None:
        self.fired = asyncio.Event()
        self.count = 0

    def expired(self) -> None:
        self.count += 1
        self.fired.set()


async def test_sessions_of_one_second_share_a_timer_and_all_expire() -> None:
    wheel = ExpiryWheel()
    at = time.time() + 0.2
    probes = [Probe() for _ in range(3)]
    seconds = {wheel.add(p, at) for p in probes}
    assert len(seconds) == 1 and len(wheel._slots) == 1
    await asyncio.wait_for(asyncio.gather(*(p.fired.wait() for p in probes)), 5)
    assert [p.count for p in probes] == [1, 1, 1]
    assert wheel._slots == {}


async def test_a_discarded_session_is_not_expired() -> None:
    wheel = ExpiryWheel()
    at = time.time() + 0.2
    kept, moved = Probe(), Probe()
    wheel.add(kept, at)
    second = wheel.add(moved, at)
    wheel.discard(moved, second)  # e.g. `authenticate` moved its expiry
    later = wheel.add(moved, at + 3600)
    assert later > second
    await asyncio.wait_for(kept.fired.wait(), 5)
    assert moved.count == 0
    assert list(wheel._slots) == [later]


async def test_an_already_expired_token_expires_at_once() -> None:
    wheel = ExpiryWheel()
    probe = Probe()
    wheel.add(probe, time.time() - 10)
    await asyncio.wait_for(probe.fired.wait(), 5)
    assert probe.count == 1
