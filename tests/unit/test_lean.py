"""LeanEvent and LeanQueue behave like the asyncio primitives they replace."""

from __future__ import annotations

import asyncio

import pytest

from orderchat.lean import LeanEvent, LeanQueue


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


async def test_queue_keeps_order_and_wakes_its_consumer() -> None:
    queue: LeanQueue[int] = LeanQueue()
    queue.put_nowait(1)
    assert not queue.empty() and queue.qsize() == 1
    assert await queue.get() == 1
    assert queue.empty()
    getter = asyncio.create_task(queue.get())
    await asyncio.sleep(0)
    assert not getter.done()
    queue.put_nowait(2)
    queue.put_nowait(3)
    assert await getter == 2
    assert await queue.get() == 3


async def test_queue_cancelled_get_leaves_it_usable() -> None:
    queue: LeanQueue[str] = LeanQueue()
    getter = asyncio.create_task(queue.get())
    await asyncio.sleep(0)
    getter.cancel()
    with pytest.raises(asyncio.CancelledError):
        await getter
    queue.put_nowait("x")
    assert await queue.get() == "x"


async def test_queue_refuses_a_second_consumer() -> None:
    queue: LeanQueue[int] = LeanQueue()
    first = asyncio.create_task(queue.get())
    await asyncio.sleep(0)
    with pytest.raises(RuntimeError):
        await queue.get()
    queue.put_nowait(7)
    assert await first == 7
