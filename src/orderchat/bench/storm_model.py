"""Storm mode's pieces: the plan a worker gets, its connections (storm and steady), the
listener that notices a dropped connection, and the raw result it sends back."""

from __future__ import annotations

from array import array
from collections.abc import Callable
from dataclasses import dataclass, field

from orderchat.bench.link import Conn, Link
from orderchat.bench.rooms import Room, Target
from orderchat.bench.schedule import ROLES

try:
    from picows import WSTransport
except ImportError as missing:  # an install without the extra
    raise ImportError("orderchat bench needs picows: pip install 'orderchat[bench]'") from missing

SENDER, RECEIVER = ROLES.index("vendor"), ROLES.index("customer")


@dataclass(frozen=True)
class StormPlan:
    storm_target: Target  # where the storm connections first open (the killed instance)
    total: int  # storm connections over all rooms (all workers)
    rooms: int  # rooms over all workers
    drop_after: float  # seconds after t0
    kill: bool  # the runner kills the storm instance; else the worker drops them
    spread: float  # each reconnect waits uniform(0, spread) first
    timeout: float  # give up reconnecting after this long


def storm_count(plan: StormPlan, room: int) -> int:
    """Storm connections of room ``room``: the total spread evenly over the rooms."""
    return plan.total // plan.rooms + (room < plan.total % plan.rooms)


class StormLink(Link):
    """A storm connection's listener: tells ``on_lost`` when the server side drops it."""

    def __init__(self, conn: Conn, on_lost: Callable[[Conn], None]) -> None:
        super().__init__(conn)
        self.on_lost = on_lost

    def on_ws_disconnected(self, transport: WSTransport) -> None:
        super().on_ws_disconnected(transport)
        if self.lost:
            self.on_lost(self.conn)


@dataclass(eq=False)
class StormConn(Conn):
    storm: bool = True  # False: one of the room's two steady connections
    target: int | None = None  # caught up once it has received this seq (after reconnect)
    dropped_at: float | None = None
    back_at: float | None = None  # the reconnected ``connected`` frame (monotonic)
    caught_up_at: float | None = None
    gave_up: bool = False


@dataclass
class StormResult:
    """What one worker saw of the storm; raw samples, merged and summarised by the runner."""

    dropped: int = 0
    reconnected: int = 0
    gave_up: int = 0
    attempts: int = 0  # handshake attempts after the drop
    failures: dict[str, int] = field(default_factory=dict)  # by HTTP status / exception
    retry_after: int = 0  # refusals that carried Retry-After
    handshake_ms: array[float] = field(default_factory=lambda: array("d"))
    back_s: array[float] = field(default_factory=lambda: array("d"))  # after the drop
    caught_up_s: array[float] = field(default_factory=lambda: array("d"))
    resumed: int = 0  # messages a storm connection got through its resume (seq <= target)
    start_mismatch: int = 0  # reconnected ``connected.lastSeq`` other than the one asked
    # message integrity, storm connections and steady ones apart
    storm: dict[str, int] = field(default_factory=dict)
    steady: dict[str, int] = field(default_factory=dict)
    sent: int = 0
    acked: int = 0
    refused: int = 0
    send_failed: int = 0
    error_codes: dict[str, int] = field(default_factory=dict)
    stored: int | None = None
    stored_mismatch: int = 0
    # steady messages: due time (s after t0) and latency (ms)
    ack_t: array[float] = field(default_factory=lambda: array("d"))
    ack_ms: array[float] = field(default_factory=lambda: array("d"))
    e2e_t: array[float] = field(default_factory=lambda: array("d"))
    e2e_ms: array[float] = field(default_factory=lambda: array("d"))
    timed_out: bool = False
    cpu_seconds: float = 0.0


def storm_conns(room: Room, count: int) -> list[StormConn]:
    """Give ``room`` its storm connections and its two steady ones (last two)."""
    conns = [StormConn(room=room, role=i % len(ROLES)) for i in range(count)]
    conns += [StormConn(room=room, role=r, storm=False) for r in (SENDER, RECEIVER)]
    room.conns = list(conns)
    return conns


def make_link(on_lost: Callable[[Conn], None]) -> Callable[[Conn], Link]:
    def link(conn: Conn) -> Link:
        return (
            StormLink(conn, on_lost) if isinstance(conn, StormConn) and conn.storm else Link(conn)
        )

    return link
