"""Frame parsing/encoding, the Origin rule and the token bucket: pure functions."""

from __future__ import annotations

import orjson
import pytest

from orderchat.realtime.handshake import origin_allowed
from orderchat.realtime.protocol import (
    ProtocolError,
    encode,
    error_frame,
    int_field,
    parse_frame,
)
from orderchat.realtime.ratelimit import TokenBucket


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        ("", "INVALID_JSON"),
        ("{", "INVALID_JSON"),
        ("[]", "INVALID_JSON"),
        ("null", "INVALID_JSON"),
        ('{"data": {}}', "INVALID_JSON"),
        ('{"event": null}', "INVALID_JSON"),
        ('{"event": "ping", "data": "x"}', "INVALID_JSON"),
        ('{"event": "ping", "data": [1]}', "INVALID_JSON"),
        ('{"event": "nope", "data": {}}', "UNKNOWN_EVENT"),
        ('{"event": "SENDMESSAGE", "data": {}}', "UNKNOWN_EVENT"),
    ],
)
def test_bad_frames(raw: str, code: str) -> None:
    with pytest.raises(ProtocolError) as err:
        parse_frame(raw)
    assert err.value.code == code


def test_good_frames() -> None:
    frame = parse_frame(
        '{"event": "sendMessage", "data": {"message": "hi", "clientMessageId": "c"}}'
    )
    assert frame.event == "sendMessage" and frame.data["message"] == "hi"
    assert frame.client_message_id == "c"
    assert parse_frame('{"event": "ping"}').data == {}
    assert parse_frame('{"event": "typing", "data": null}').data == {}
    too_long = parse_frame(
        '{"event": "sendMessage", "data": {"clientMessageId": "%s"}}' % ("x" * 65)
    )
    assert too_long.client_message_id is None  # never echoed back


def test_int_field() -> None:
    assert int_field({"seq": 3}, "seq") == 3
    for bad in ({"seq": True}, {"seq": "3"}, {"seq": -1}, {"seq": 1.5}, {}):
        with pytest.raises(ProtocolError) as err:
            int_field(bad, "seq")
        assert err.value.code == "INVALID_PAYLOAD"


def test_encode() -> None:
    assert orjson.loads(encode("pong", {})) == {"event": "pong", "data": {}}
    assert orjson.loads(error_frame("FORBIDDEN", "no", "c1")) == {
        "event": "error",
        "data": {"code": "FORBIDDEN", "message": "no", "clientMessageId": "c1"},
    }
    assert "clientMessageId" not in orjson.loads(error_frame("X", "y"))["data"]


@pytest.mark.parametrize(
    ("origin", "host", "allowed", "ok"),
    [
        (None, "a.example", None, True),
        ("https://a.example", "a.example", None, True),
        ("https://a.example", "a.example:443", None, True),
        ("http://a.example:8000", "a.example:8000", None, True),
        ("http://A.example:8000", "a.example:8000", None, True),
        ("http://a.example:8001", "a.example:8000", None, False),
        ("https://evil.example", "a.example", None, False),
        ("https://a.example.evil", "a.example", None, False),
        ("null", "a.example", None, False),
        ("https://a.example", None, None, False),
        ("https://app.example", "api.example", frozenset({"https://app.example"}), True),
        ("https://app.example/", "api.example", frozenset({"https://app.example"}), True),
        ("https://api.example", "api.example", frozenset({"https://app.example"}), False),
    ],
)
def test_origin(
    origin: str | None, host: str | None, allowed: frozenset[str] | None, ok: bool
) -> None:
    assert origin_allowed(origin, host, allowed) is ok


def test_token_bucket() -> None:
    bucket = TokenBucket(rate=10, burst=20)
    now = bucket._at
    assert all(bucket.take(now) for _ in range(20))
    assert not bucket.take(now)
    assert bucket.take(now + 0.11)  # one token back after 1/rate seconds
    assert not bucket.take(now + 0.11)
    assert sum(bucket.take(now + 100) for _ in range(30)) == 20  # never more than the burst
