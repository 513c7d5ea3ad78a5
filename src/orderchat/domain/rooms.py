"""A room's state as a function of the set of order events seen (SPEC 4.2).

``apply`` is deterministic and monotonic: duplicates change nothing, a terminal event is
final, events seen before ``order.accepted`` still count, and a rider once unassigned
stays out. Any shuffle or duplication of an order's event log gives the same state.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field, replace
from typing import Literal

from orderchat.domain.events import OrderEvent

ClosedReason = Literal["delivered", "cancelled"]
ParticipantRole = Literal["customer", "vendor", "rider"]


@dataclass(frozen=True, slots=True)
class RiderState:
    assigned: bool = False
    unassigned: bool = False

    @property
    def active(self) -> bool:
        return self.assigned and not self.unassigned


@dataclass(frozen=True, slots=True)
class RoomState:
    order_id: uuid.UUID
    customer_id: uuid.UUID | None = None
    vendor_id: uuid.UUID | None = None
    riders: dict[uuid.UUID, RiderState] = field(default_factory=dict)
    closed_reason: ClosedReason | None = None

    @property
    def read_only(self) -> bool:
        return self.closed_reason is not None

    def participants(self) -> list[tuple[uuid.UUID, ParticipantRole]]:
        out: list[tuple[uuid.UUID, ParticipantRole]] = []
        if self.customer_id is not None:
            out.append((self.customer_id, "customer"))
        if self.vendor_id is not None:
            out.append((self.vendor_id, "vendor"))
        out.extend((rid, "rider") for rid, st in sorted(self.riders.items()) if st.active)
        return out


def apply(state: RoomState, event: OrderEvent) -> RoomState:
    """The state after also having seen ``event``."""
    if event.kind == "accepted":
        if state.customer_id is not None:
            return state  # the first accepted event fixes the parties; replays change nothing
        return replace(state, customer_id=event.customer_id, vendor_id=event.vendor_id)
    if event.kind in ("rider_assigned", "rider_unassigned"):
        assert event.rider_id is not None
        old = state.riders.get(event.rider_id, RiderState())
        new = (
            replace(old, assigned=True)
            if event.kind == "rider_assigned"
            else replace(old, unassigned=True)
        )
        if new == old:
            return state
        return replace(state, riders={**state.riders, event.rider_id: new})
    # delivered / cancelled: the first terminal event applied is final.
    if state.closed_reason is not None:
        return state
    reason: ClosedReason = "delivered" if event.kind == "delivered" else "cancelled"
    return replace(state, closed_reason=reason)


@dataclass(frozen=True, slots=True)
class RoomChanges:
    """What changed between two states, for notifying live connections."""

    joined: list[tuple[uuid.UUID, ParticipantRole]]
    left: list[tuple[uuid.UUID, ParticipantRole]]
    closed: ClosedReason | None

    @property
    def any(self) -> bool:
        return bool(self.joined or self.left or self.closed)


def diff(before: RoomState, after: RoomState) -> RoomChanges:
    b, a = set(before.participants()), set(after.participants())
    return RoomChanges(
        joined=sorted(a - b),
        left=sorted(b - a),
        closed=after.closed_reason if before.closed_reason is None else None,
    )
