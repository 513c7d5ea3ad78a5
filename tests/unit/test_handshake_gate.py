"""realtime/admission.py: a bounded number of upgrades checked and waiting; the rest shed."""

from __future__ import annotations

import asyncio

from orderchat.client.dialer import retry_after_delay
from orderchat.realtime.admission import HandshakeGate


async def test_the_gate_sheds_only_when_every_slot_and_queue_place_is_taken() -> None:
    gate = HandshakeGate(concurrency=2, queue=1, retry_after=1)
    release = asyncio.Event()
    entered: list[int] = []

    async def upgrade(n: int) -> None:
        async with gate.turn():
            entered.append(n)
            await release.wait()

    assert not gate.full()
    tasks = [asyncio.create_task(upgrade(n)) for n in range(3)]
    for _ in range(10):  # a few loop turns: the tasks enter, or queue, at once
        await asyncio.sleep(0)
    assert entered == [0, 1] and gate.waiting == 1  # two checked, one queued
    assert gate.full() and gate.shed == 1  # a fourth is shed
    release.set()
    await asyncio.gather(*tasks)
    assert entered == [0, 1, 2]  # the queued one had its turn
    assert not gate.full() and gate.waiting == 0 and gate.shed == 1


def test_retry_after_is_honoured_with_jitter_as_wide_as_the_wait() -> None:
    delays = {retry_after_delay(2) for _ in range(200)}
    assert all(2 <= d <= 4 for d in delays)
    assert max(delays) - min(delays) > 1  # spread: refused clients do not return together
