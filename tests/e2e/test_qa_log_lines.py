"""QA against a real server: one log line stays one line (SPEC 8).

A client-chosen string that reaches a log line (an unknown event type, a SNS type) must
not start a forged line of its own with a newline, nor put raw control bytes in the log.
"""

from __future__ import annotations

import uuid

import pytest

from tests.e2e.conftest import ServerProc, StartServer
from tests.e2e.ws_support import post_event

FORGED = "FORGED ERROR orderchat: admin token=abc"


@pytest.mark.parametrize("fmt", ["text", "json"])
async def test_a_client_string_cannot_forge_log_lines(start_server: StartServer, fmt: str) -> None:
    server: ServerProc = start_server(log_format=fmt)
    order_id = str(uuid.uuid4())
    for event_type in (f"x.unknown\n{FORGED}", f"y.unknown\r\n{FORGED}", "z.unknown\x00\x1b[2J"):
        assert (await post_event(server, event_type, orderId=order_id)) == {"outcome": "ignored"}
    server.stop()
    logs = server.logs()
    ignored = [line for line in logs.splitlines() if "event ignored" in line]
    assert len(ignored) == 3, logs
    assert not any(line.startswith("FORGED") for line in logs.splitlines()), logs
    assert "\x00" not in logs and "\x1b" not in logs
    assert "\r" not in logs
