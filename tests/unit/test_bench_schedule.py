"""The open-loop schedule and the per-connection sequence check."""

from __future__ import annotations

import itertools

from hypothesis import given
from hypothesis import strategies as st

from orderchat.bench.integrity import SeqTracker
from orderchat.bench.schedule import ROLES, Schedule, worker_rooms


def test_schedule_counts_the_run() -> None:
    schedule = Schedule.for_run(rate=50, rooms=3, seconds=2)
    assert schedule.total == 100
    assert [schedule.count(r) for r in range(3)] == [34, 33, 33]


@given(st.integers(1, 40), st.floats(0.5, 500), st.floats(0, 5))
def test_every_aggregate_slot_is_sent_once_in_time_order(
    rooms: int, rate: float, seconds: float
) -> None:
    schedule = Schedule.for_run(rate, rooms, seconds)
    dues = sorted(
        schedule.due(room, k) for room in range(rooms) for k in range(schedule.count(room))
    )
    # message i of the aggregate schedule is due at i / rate, each exactly once
    assert dues == [i / rate for i in range(schedule.total)]


def test_a_room_sends_at_a_fixed_pace_from_rotating_participants() -> None:
    schedule = Schedule.for_run(rate=100, rooms=4, seconds=1)
    dues = [schedule.due(2, k) for k in range(schedule.count(2))]
    gaps = {round(b - a, 9) for a, b in itertools.pairwise(dues)}
    assert gaps == {0.04}  # rooms / rate
    assert [ROLES[schedule.sender(k)] for k in range(4)] == [
        "customer",
        "vendor",
        "rider",
        "customer",
    ]


def test_workers_own_disjoint_rooms_covering_all() -> None:
    shares = [list(worker_rooms(w, 3, 10)) for w in range(3)]
    assert shares == [[0, 3, 6, 9], [1, 4, 7], [2, 5, 8]]
    assert list(worker_rooms(0, 1, 5)) == [0, 1, 2, 3, 4]


def test_seq_tracker_in_order_stream_is_clean() -> None:
    tracker = SeqTracker(start=4)
    for seq in range(5, 11):
        tracker.see(seq)
    assert (tracker.count, tracker.duplicated, tracker.out_of_order) == (6, 0, 0)
    assert tracker.missing() == 0
    assert tracker.undelivered(10) == 0
    assert tracker.undelivered(12) == 2  # the room went on to 12: 11 and 12 never came


def test_seq_tracker_counts_gaps_duplicates_and_reordering() -> None:
    tracker = SeqTracker()
    for seq in (1, 2, 4, 3, 4, 6, 1):
        tracker.see(seq)
    assert tracker.duplicated == 2  # the second 4 and the second 1
    assert tracker.out_of_order == 1  # 3 after 4
    assert tracker.missing() == 1  # 5
    assert tracker.undelivered(6) == 0
    assert tracker.highest == 6
