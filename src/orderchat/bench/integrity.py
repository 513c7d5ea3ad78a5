"""Per-connection check of SPEC 5.4: the seqs of ``newMessage`` and ``messageAck`` arrive
strictly increasing, without gap or duplicate, from the connection's starting point."""

from __future__ import annotations


class SeqTracker:
    """The seqs one connection received; counts duplicates and out-of-order arrivals as
    they come, and the missing ones once the room's final seq is known."""

    __slots__ = ("duplicated", "highest", "out_of_order", "seen", "start")

    def __init__(self, start: int = 0) -> None:
        self.start = start  # ``connected.lastSeq``: the stream begins after it
        self.highest = start
        self.seen: set[int] = set()
        self.duplicated = 0
        self.out_of_order = 0

    def see(self, seq: int) -> None:
        if seq in self.seen or seq <= self.start:
            self.duplicated += 1
            return
        if seq < self.highest:
            self.out_of_order += 1  # a later seq came first
        else:
            self.highest = seq
        self.seen.add(seq)

    @property
    def count(self) -> int:
        return len(self.seen)

    def missing(self) -> int:
        """Holes: seqs below the highest one received that never came (lost for good,
        since a connection's stream may not skip)."""
        return self.highest - self.start - len(self.seen)

    def undelivered(self, last_seq: int) -> int:
        """Stored seqs above the highest received: the tail that had not arrived when the
        bench stopped waiting (or the connection was lost)."""
        return max(0, last_seq - self.highest)
