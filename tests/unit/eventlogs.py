"""Hypothesis strategies for an order's event log (shared by unit and integration tests)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from hypothesis import strategies as st

from orderchat.domain.events import OrderEvent
from orderchat.domain.rooms import ParticipantRole


@dataclass(frozen=True)
class EventLog:
    order_id: uuid.UUID
    customer_id: uuid.UUID
    vendor_id: uuid.UUID
    events: list[OrderEvent]
    active_riders: frozenset[uuid.UUID]
    terminal: str | None

    def expected_participants(self) -> set[tuple[uuid.UUID, ParticipantRole]]:
        out: set[tuple[uuid.UUID, ParticipantRole]] = {
            (self.customer_id, "customer"),
            (self.vendor_id, "vendor"),
        }
        out.update((r, "rider") for r in self.active_riders)
        return out


uuids = st.uuids(version=4)

# Per rider, the history the Order service emits, in its own order:
# assigned; assigned then unassigned; assigned, unassigned, assigned again (stays out).
RIDER_HISTORIES: list[tuple[str, ...]] = [
    ("rider_assigned",),
    ("rider_assigned", "rider_unassigned"),
    ("rider_assigned", "rider_unassigned", "rider_assigned"),
]


@st.composite
def event_logs(draw: st.DrawFn, *, max_riders: int = 3) -> EventLog:
    oid, cust, vend = draw(st.lists(uuids, min_size=3, max_size=3, unique=True))
    riders = draw(st.lists(uuids.filter(lambda u: u not in (cust, vend)), max_size=max_riders))
    riders = list(dict.fromkeys(riders))
    events = [OrderEvent("accepted", oid, customer_id=cust, vendor_id=vend)]
    active: set[uuid.UUID] = set()
    for rider in riders:
        history = draw(st.sampled_from(RIDER_HISTORIES))
        events.extend(OrderEvent(kind, oid, rider_id=rider) for kind in history)  # type: ignore[arg-type]
        if "rider_unassigned" not in history:
            active.add(rider)
    terminal = draw(st.sampled_from([None, "delivered", "cancelled"]))
    if terminal == "delivered":
        events.append(OrderEvent("delivered", oid))
    elif terminal == "cancelled":
        events.append(OrderEvent("cancelled", oid, reason="customer asked"))
    return EventLog(oid, cust, vend, events, frozenset(active), terminal)


@st.composite
def shuffled_with_duplicates(draw: st.DrawFn, events: list[OrderEvent]) -> list[OrderEvent]:
    """Every event at least once, some several times, in any order."""
    extra = draw(st.lists(st.sampled_from(events), max_size=len(events) * 2))
    return draw(st.permutations(events + extra))
