"""Per-user limits of one instance: connection slots per room, one send bucket per user."""

from __future__ import annotations

import uuid

from orderchat.realtime.ratelimit import UserLimits


def test_slots_per_user_and_room() -> None:
    limits = UserLimits(max_connections=2, rate=1.0, burst=1)
    room, other = uuid.uuid4(), uuid.uuid4()
    assert limits.reserve(room, "u") and limits.reserve(room, "u")
    assert not limits.reserve(room, "u")  # the third: 429
    assert limits.reserve(other, "u") and limits.reserve(room, "v")  # per room, per user
    limits.release(room, "u")
    assert limits.reserve(room, "u")  # a freed slot is free again
    for _ in range(3):
        limits.release(room, "v")  # releasing more than held never goes negative
    assert limits.reserve(room, "v") and limits.reserve(room, "v")
    assert not limits.reserve(room, "v")


def test_one_send_bucket_shared_by_a_users_connections() -> None:
    limits = UserLimits(max_connections=10, rate=0.001, burst=2)
    limits.joined("u")
    limits.joined("u")  # a second connection shares the bucket, it does not get its own
    assert limits.allow_send("u") and limits.allow_send("u")
    assert not limits.allow_send("u")
    limits.left("u")
    assert not limits.allow_send("u")  # still the same, empty bucket
    limits.left("u")
    limits.joined("u")  # all connections gone: a new bucket, full again
    assert limits.allow_send("u")
