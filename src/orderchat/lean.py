"""A lighter stand-in for asyncio.Event, for objects kept per connection.

``asyncio.Event`` allocates its waiter deque up front, and an empty CPython deque
already holds a 64-slot block: about 0.7 KiB per Event before anything ever waits. With
thousands of idle connections each holding several of them that is a large share of the
memory per connection, so this keeps its waiters in a list created only when someone
waits. Hand-written because neither asyncio nor a maintained library offers a lazy one.
"""

from __future__ import annotations

import asyncio


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
