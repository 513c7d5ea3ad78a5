"""Room state as a function of the set of order events seen (SPEC 4.2), without I/OID."""

from __future__ import annotations

import uuid
from functools import reduce

from hypothesis import given
from hypothesis import strategies as st

from orderchat.domain.events import OrderEvent
from orderchat.domain.rooms import RoomState, apply, diff
from tests.unit.eventlogs import EventLog, event_logs, shuffled_with_duplicates


def replay(order_id: uuid.UUID, events: list[OrderEvent]) -> RoomState:
    return reduce(apply, events, RoomState(order_id=order_id))


@given(st.data())
def test_any_shuffle_and_duplication_gives_the_same_state(data: st.DataObject) -> None:
    log: EventLog = data.draw(event_logs())
    in_order = replay(log.order_id, log.events)
    assert set(in_order.participants()) == log.expected_participants()
    assert in_order.closed_reason == log.terminal
    for _ in range(3):
        shuffled = data.draw(shuffled_with_duplicates(log.events))
        state = replay(log.order_id, shuffled)
        assert set(state.participants()) == set(in_order.participants())
        assert state.participants() == in_order.participants()  # same order too
        assert state.closed_reason == in_order.closed_reason
        assert state.read_only is (log.terminal is not None)


@given(event_logs())
def test_applying_an_event_already_seen_changes_nothing(log: EventLog) -> None:
    state = replay(log.order_id, log.events)
    for event in log.events:
        assert apply(state, event) == state


OID, C, V, R1, R2 = (uuid.uuid4() for _ in range(5))
ACCEPTED = OrderEvent("accepted", OID, customer_id=C, vendor_id=V)


def test_events_before_accepted_take_effect() -> None:
    state = replay(OID, [OrderEvent("rider_assigned", OID, rider_id=R1), ACCEPTED])
    assert set(state.participants()) == {(C, "customer"), (V, "vendor"), (R1, "rider")}
    assert not state.read_only
    early_close = replay(OID, [OrderEvent("delivered", OID), ACCEPTED])
    assert early_close.closed_reason == "delivered"
    assert set(early_close.participants()) == {(C, "customer"), (V, "vendor")}


def test_terminal_is_final() -> None:
    closed = replay(OID, [ACCEPTED, OrderEvent("cancelled", OID)])
    for late in (
        ACCEPTED,
        OrderEvent("rider_assigned", OID, rider_id=R1),
        OrderEvent("delivered", OID),
    ):
        after = apply(closed, late)
        assert after.closed_reason == "cancelled"
        assert after.read_only


def test_unassigned_rider_never_comes_back() -> None:
    assigned = OrderEvent("rider_assigned", OID, rider_id=R1)
    unassigned = OrderEvent("rider_unassigned", OID, rider_id=R1)
    for events in ([assigned, unassigned, assigned], [unassigned, assigned], [unassigned]):
        state = replay(OID, [ACCEPTED, *events])
        assert (R1, "rider") not in state.participants()
    # Another rider is unaffected.
    state = replay(
        OID, [ACCEPTED, assigned, unassigned, OrderEvent("rider_assigned", OID, rider_id=R2)]
    )
    assert (R2, "rider") in state.participants() and (R1, "rider") not in state.participants()


def test_a_second_accepted_does_not_replace_the_parties() -> None:
    other = OrderEvent("accepted", OID, customer_id=uuid.uuid4(), vendor_id=uuid.uuid4())
    state = replay(OID, [ACCEPTED, other])
    assert set(state.participants()) == {(C, "customer"), (V, "vendor")}


def test_diff_reports_joined_left_closed() -> None:
    before = replay(OID, [ACCEPTED, OrderEvent("rider_assigned", OID, rider_id=R1)])
    after = apply(before, OrderEvent("rider_unassigned", OID, rider_id=R1))
    changes = diff(before, after)
    assert changes.left == [(R1, "rider")] and changes.joined == [] and changes.closed is None
    changes = diff(after, apply(after, OrderEvent("rider_assigned", OID, rider_id=R2)))
    assert changes.joined == [(R2, "rider")]
    closed = apply(after, OrderEvent("delivered", OID))
    assert diff(after, closed).closed == "delivered"
    assert not diff(closed, apply(closed, OrderEvent("cancelled", OID))).any
