"""The room-state property through the real store (RoomStore.apply_event), on both databases."""

from __future__ import annotations

import uuid
from dataclasses import replace

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from orderchat.domain.messages import utcnow_ms
from orderchat.store import Store
from tests.unit.eventlogs import EventLog, event_logs, shuffled_with_duplicates


@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(data=st.data())
async def test_shuffled_duplicated_log_gives_the_same_room(
    store: Store, data: st.DataObject
) -> None:
    log: EventLog = data.draw(event_logs())
    shuffled = data.draw(shuffled_with_duplicates(log.events))
    # Two fresh rooms (hypothesis may repeat ids across examples, the database persists):
    # one fed the log in order, one fed a shuffle with duplicates.
    first, twin = uuid.uuid4(), uuid.uuid4()
    changed = 0
    for event in log.events:
        await store.rooms.apply_event(replace(event, order_id=first), utcnow_ms())
    for event in shuffled:
        applied = await store.rooms.apply_event(replace(event, order_id=twin), utcnow_ms())
        changed += applied.changed
    in_order = await store.rooms.get(first)
    other = await store.rooms.get(twin)
    assert in_order is not None and other is not None
    expected = {(uid, role) for uid, role in log.expected_participants()}
    assert set(in_order.participants) == expected
    assert set(other.participants) == expected
    assert in_order.participants == other.participants
    assert in_order.closed_reason == other.closed_reason == log.terminal
    assert in_order.read_only is other.read_only is (log.terminal is not None)
    # Duplicates are reported as such: no more "applied" than distinct events.
    assert changed <= len(set(log.events))
