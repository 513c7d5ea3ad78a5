"""The hot-path helpers of domain/messages.py, against the plain versions they replace."""

from __future__ import annotations

import pickle
import time
import unicodedata
import uuid
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from orderchat.domain import messages as D
from orderchat.errors import MessageEmptyError


def plain_blank(content: str) -> bool:
    return all(c.isspace() or unicodedata.category(c) == "Cf" for c in content)


def plain_rfc3339_ms(when: datetime) -> str:
    when = when.astimezone(UTC) if when.tzinfo else when.replace(tzinfo=UTC)
    return when.strftime("%Y-%m-%dT%H:%M:%S.") + f"{when.microsecond // 1000:03d}Z"


INVISIBLE = st.sampled_from([" ", "\t", "\n", "\u00a0", "\u3000", "\u200b", "\ufeff", "\u2060"])


@given(st.lists(st.one_of(INVISIBLE, st.characters()), max_size=12).map("".join))
def test_blank_is_the_plain_definition(content: str) -> None:
    assert D._blank(content) == plain_blank(content)


@pytest.mark.parametrize("content", ["", " ", "\u200b", " \u200b\n\ufeff ", "\u2060\t"])
def test_invisible_content_is_empty(content: str) -> None:
    with pytest.raises(MessageEmptyError):
        D.validate_content(content, 100)


@pytest.mark.parametrize("content", ["a", " a ", "\u200ba", "\u200b \u00e9", "  \u200b x"])
def test_visible_content_is_kept(content: str) -> None:
    assert D.validate_content(content, 100) == content


@given(
    st.datetimes(
        min_value=datetime(1000, 1, 2),
        timezones=st.sampled_from([None, UTC, timezone(timedelta(hours=5, minutes=30))]),
    )
)
def test_rfc3339_ms_is_the_plain_format(when: datetime) -> None:
    assert D.rfc3339_ms(when) == plain_rfc3339_ms(when)


def test_rfc3339_ms_answers_each_time_for_its_own_argument() -> None:
    # the one-entry cache: alternating and equal-but-distinct arguments
    a = datetime(2026, 11, 24, 5, 28, 52, 123999, tzinfo=UTC)
    b = datetime(2026, 11, 24, 5, 28, 52, 124000, tzinfo=UTC)
    for _ in range(3):
        assert D.rfc3339_ms(a) == "2026-11-24T05:28:52.123Z"
        assert D.rfc3339_ms(b) == "2026-11-24T05:28:52.124Z"
    assert D.rfc3339_ms(b.replace(tzinfo=None)) == "2026-11-24T05:28:52.124Z"
    assert D.rfc3339_ms(b.astimezone(timezone(timedelta(hours=-3)))) == "2026-11-24T05:28:52.124Z"


def test_utcnow_ms_is_now_in_whole_milliseconds() -> None:
    before = datetime.now(UTC).replace(microsecond=0) - timedelta(milliseconds=1)
    for _ in range(1000):
        now = D.utcnow_ms()
        assert now.tzinfo is UTC and now.microsecond % 1000 == 0
    assert before <= now <= datetime.now(UTC)


@pytest.mark.parametrize("ms", [0, 1, 123, 999, 1_790_000_000_001, 1_790_000_000_999])
def test_utcnow_ms_keeps_every_millisecond_exactly(
    ms: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(time, "time_ns", lambda: ms * 1_000_000 + 999_999)
    assert D.utcnow_ms() == datetime(1970, 1, 1, tzinfo=UTC) + timedelta(milliseconds=ms)


def test_new_message_id_is_a_random_uuid4() -> None:
    ids = [D.new_message_id() for _ in range(10_000)]
    assert len(set(ids)) == len(ids)
    for made in ids[:1000]:
        assert isinstance(made, uuid.UUID)
        assert made.version == 4 and made.variant == uuid.RFC_4122
        again = uuid.UUID(str(made))
        assert again == made and hash(again) == hash(made) and again.bytes == made.bytes
        assert pickle.loads(pickle.dumps(made)) == made
    # the random bits do vary: each of the 122 is set in some id and clear in another
    ored = anded = ids[0].int
    for made in ids:
        ored |= made.int
        anded &= made.int
    assert bin(ored ^ anded).count("1") == 122
