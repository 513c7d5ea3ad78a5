"""The fan-out between instances: a small interface, chosen by create_app from the settings.

The hub always delivers to its own connections directly; the fan-out only carries a room's
payloads to *other* instances. Payloads are opaque bytes (the hub owns their format, and
tags them with its instance id so it can ignore its own echoes).

Redis Pub/Sub is at-most-once: a receiver that sees a seq hole fetches it from the store,
and after ``on_reconnect`` fires the hub resynchronises every local room from the store.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

Handler = Callable[[bytes], None]


class Fanout(Protocol):
    """What the hub needs from a backplane."""

    #: Called (in the event loop) after the backplane came back from an outage.
    on_reconnect: Callable[[], None] | None

    @property
    def healthy(self) -> bool:
        """True while payloads published now can reach other instances."""
        ...

    async def start(self) -> None: ...

    async def close(self) -> None: ...

    async def subscribe(self, room: str, handler: Handler) -> None:
        """Receive the room's payloads from other instances (one handler per room)."""
        ...

    async def unsubscribe(self, room: str) -> None: ...

    def publish(self, room: str, payload: bytes) -> None:
        """Hand a payload to the backplane; never blocks, never raises (drops when down)."""
        ...


class LocalFanout:
    """One instance: nothing to carry across, since the hub delivers locally itself."""

    on_reconnect: Callable[[], None] | None = None

    @property
    def healthy(self) -> bool:
        return True

    async def start(self) -> None:
        return None

    async def close(self) -> None:
        return None

    async def subscribe(self, room: str, handler: Handler) -> None:
        return None

    async def unsubscribe(self, room: str) -> None:
        return None

    def publish(self, room: str, payload: bytes) -> None:
        return None
