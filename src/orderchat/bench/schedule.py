"""The open-loop schedule: when each message is due, in which room, from which participant.

Message ``i`` of the aggregate schedule is due ``i / rate`` seconds after the start and
goes to room ``i % rooms``; so room ``r`` sends its ``k``-th message (aggregate index
``k * rooms + r``) at a fixed pace whatever the server does. The sender rotates over the
room's participants. Latency is measured from the due time, never from the moment the
send actually happened, so a stalled server cannot hide its stall (no coordinated
omission).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

ROLES = ("customer", "vendor", "rider")


@dataclass(frozen=True)
class Schedule:
    rate: float  # aggregate messages per second
    rooms: int
    total: int  # messages in the whole run (warm-up included)

    @classmethod
    def for_run(cls, rate: float, rooms: int, seconds: float) -> Schedule:
        if rate <= 0 or rooms <= 0 or seconds < 0:
            raise ValueError("rate and rooms must be positive, seconds not negative")
        return cls(rate=rate, rooms=rooms, total=round(rate * seconds))

    def count(self, room: int) -> int:
        """How many messages room ``room`` sends."""
        return max(0, math.ceil((self.total - room) / self.rooms))

    def due(self, room: int, k: int) -> float:
        """Seconds after the start when room ``room`` sends its ``k``-th message."""
        return (k * self.rooms + room) / self.rate

    @staticmethod
    def sender(k: int) -> int:
        """Which participant (index into ROLES) sends a room's ``k``-th message."""
        return k % len(ROLES)


def worker_rooms(worker: int, workers: int, rooms: int) -> range:
    """The rooms worker ``worker`` of ``workers`` owns: every ``workers``-th one, so each
    worker's share of the schedule is spread evenly over time."""
    return range(worker, rooms, workers)
