"""How the bench accounts for the frames one connection receives (no server needed)."""

from __future__ import annotations

import orjson
import pytest

from orderchat.bench.load import ACKED, DELIVERED, ERRORS, OPENED, UNREADABLE, Load
from orderchat.bench.rooms import Target, new_rooms
from orderchat.bench.schedule import Schedule
from tests.conftest import TEST_SECRET


def message(event: str, seq: int, cmid: str | None, **extra: object) -> bytes:
    data = {"seq": seq, "clientMessageId": cmid, "content": "x", **extra}
    return orjson.dumps({"event": event, "data": data})


@pytest.fixture
def load() -> Load:
    target = Target("http://127.0.0.1:1", TEST_SECRET)
    rooms = new_rooms(target, [0, 1])
    schedule = Schedule.for_run(rate=10, rooms=2, seconds=2)  # room 1, k: due (2k + 1) / 10
    return Load(target, schedule, rooms, warmup=0.25, progress=[0] * (OPENED + 1))


def test_latency_is_counted_from_the_due_time_after_the_warmup(load: Load) -> None:
    load.t0 = 100.0
    vendor = load.rooms[1].conns[1]
    load._frame(vendor, message("messageAck", 1, "0"), now=100.15)  # due 0.1: warm-up
    load._frame(vendor, message("newMessage", 2, "1"), now=100.35)  # due 0.3
    load._frame(vendor, message("messageAck", 3, "2"), now=101.0)  # due 0.5
    result = load.result
    assert (result.acked, result.delivered) == (2, 1)
    assert load.rooms[1].acked == 2
    assert list(result.e2e_t) == [pytest.approx(0.3)]
    assert list(result.e2e_ms) == [pytest.approx(50.0)]
    assert list(result.ack_ms) == [pytest.approx(500.0)]  # the warm-up ack is not sampled
    assert load.progress[ACKED] == 2 and load.progress[DELIVERED] == 1
    assert vendor.tracker.count == 3 and vendor.tracker.missing() == 0


def test_errors_by_code_and_refusals(load: Load) -> None:
    customer = load.rooms[0].conns[0]
    refused = {"event": "error", "data": {"code": "RATE_LIMITED", "clientMessageId": "4"}}
    load._frame(customer, orjson.dumps(refused), now=0.0)
    other = {"event": "error", "data": {"code": "INVALID_JSON"}}
    load._frame(customer, orjson.dumps(other), now=0.0)
    assert load.result.error_codes == {"RATE_LIMITED": 1, "INVALID_JSON": 1}
    assert load.rooms[0].refused == 1  # only the one naming a send
    assert load.progress[ERRORS] == 2


def test_a_frame_the_bench_cannot_read_is_an_error_not_a_crash(load: Load) -> None:
    customer = load.rooms[0].conns[0]
    with pytest.raises(ValueError):
        load._frame(customer, message("newMessage", 1, "not-a-number"), now=0.0)
    assert customer.tracker.count == 0  # nothing half-recorded
    assert UNREADABLE.startswith("bench:")  # kept apart from the SPEC's codes


def test_duplicate_and_out_of_order_seqs_are_counted(load: Load) -> None:
    rider = load.rooms[0].conns[2]
    for seq in (1, 3, 2, 3):
        load._frame(rider, message("newMessage", seq, str(seq - 1)), now=0.0)
    assert rider.tracker.duplicated == 1 and rider.tracker.out_of_order == 1


async def test_stored_counts_against_acks(load: Load, monkeypatch: pytest.MonkeyPatch) -> None:
    """Room 0: everything answered, but one more stored than acked (a refused send that was
    stored). Room 1: one acked message not stored. Both are mismatches; a room whose
    stored-but-unacked messages are still in flight is backlog only."""
    stored = {0: 5, 1: 3}

    async def fake_fetch(_target: Target, rooms: list[object]) -> int:
        for room in load.rooms:
            room.last_seq = stored[room.index]
        return 0

    monkeypatch.setattr("orderchat.bench.load.fetch_last_seqs", fake_fetch)
    first, second = load.rooms
    first.sent, first.acked, first.refused = 5, 4, 1
    second.sent, second.acked = 4, 4
    await load._verify()
    assert load.result.stored_mismatch == 2
    assert load.result.stored == 8 and load.result.unacked == 0

    load.result = type(load.result)()
    stored = {0: 5, 1: 4}
    first.sent, first.acked, first.refused = 6, 4, 0  # two sends still unanswered
    await load._verify()
    assert load.result.stored_mismatch == 0
    assert load.result.unacked == 2
