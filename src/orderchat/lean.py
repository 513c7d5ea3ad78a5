"""Lighter stand-ins for asyncio.Event and asyncio.Queue, for objects kept per connection.

``asyncio.Event`` and ``asyncio.Queue`` allocate their waiter deques up front, and an
empty CPython deque already holds a 64-slot block: about 0.7 KiB per Event and 3 KiB
per Queue (three deques and an Event), before anything ever waits. With thousands of
idle connections each holding several of them that is a large share of the memory per
connection, so these keep their waiters in a list created only when someone waits.
Hand-written because neither asyncio nor a maintained library offers a lazy variant.
"""

from __future__ import annotations

import asyncio
from typing import Generic, TypeVar

T = TypeVar("T")


class LeanEvent:
    """``asyncio.Event``'s interface (set, clear, is_set, wait)."""

    __slots__ = ("_value", "_waiters")

    def __init__(self) -> None:
        self._value = False
        self._waiters: list[asyncio.Future[None]] | None = None

    def is_set(self) -> bool:
        return self._value

    def set(self) -> None:
        if self._value:
            return
        self._value = True
        waiters, self._waiters = self._waiters, None
        for fut in waiters or ():
            if not fut.done():
                fut.set_result(None)

    def clear(self) -> None:
        self._value = False

    async def wait(self) -> bool:
        if self._value:
            return True
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        if self._waiters is None:
            self._waiters = []
        self._waiters.append(fut)
        try:
            await fut
        finally:
            # cancelled (or resolved by set(), which already dropped the list): unlink it
            if self._waiters is not None and fut in self._waiters:
                self._waiters.remove(fut)
        return True


class LeanQueue(Generic[T]):
    """An unbounded queue for ONE consumer: ``put_nowait``, ``get``, ``empty``, ``qsize``."""

    __slots__ = ("_getter", "_items")

    def __init__(self) -> None:
        self._items: list[T] = []  # a list grows from nothing; a deque starts at 64 slots
        self._getter: asyncio.Future[None] | None = None

    def qsize(self) -> int:
        return len(self._items)

    def empty(self) -> bool:
        return not self._items

    def put_nowait(self, item: T) -> None:
        self._items.append(item)
        getter = self._getter
        if getter is not None and not getter.done():
            getter.set_result(None)

    async def get(self) -> T:
        while not self._items:
            if self._getter is not None:
                raise RuntimeError("LeanQueue has one consumer")
            self._getter = asyncio.get_running_loop().create_future()
            try:
                await self._getter
            finally:
                self._getter = None
        return self._items.pop(0)
