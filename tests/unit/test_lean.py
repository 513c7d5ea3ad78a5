"""LeanEvent behaves like the asyncio.Event it replaces."""

from __future__ import annotations

import asyncio

import pytest

from orderchat.lean import LeanEvent


async def test_event_wait_returns_at_once_when_set() -> None:
    event = LeanEvent()
    event.set()
    assert event.is_set()
    assert await event.wait() is True


async def test_event_wakes_every_waiter_and_clear_blocks_again() -> None:
    event = LeanEvent()
    waiters = [asyncio.create_task(event.wait()) for _ in range(3)]
    await asyncio.sleep(0)
    assert not any(w.done() for w in waiters)
    event.set()
    assert await asyncio.gather(*waiters) == [True, True, True]
    event.clear()
    assert not event.is_set()
    late = asyncio.create_task(event.wait())
    await asyncio.sleep(0)
    assert not late.done()
    event.set()
    assert await late is True


async def test_event_cancelled_waiter_is_dropped() -> None:
    event = LeanEvent()
    waiter = asyncio.create_task(event.wait())
    await asyncio.sleep(0)
    waiter.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiter
    assert event._waiters == []
    event.set()  # nothing left to wake; must not fail on the cancelled future
