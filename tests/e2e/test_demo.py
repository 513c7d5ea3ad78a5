"""`orderchat demo` as a user runs it: on its own embedded server, and against a started one."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import httpx

from tests.conftest import TEST_SECRET, auth
from tests.e2e.conftest import ServerProc
from tests.e2e.ws_support import tok

TIME = r"\d\d:\d\d:\d\d\.\d{3}"
# The story's lines, in order: (who, what) as printed after the time.
STORY = [
    ("event", r"order\.accepted -> applied"),
    ("customer", r"connected \(room open, last seq 0\)"),
    ("vendor", r"connected \(room open, last seq 0\)"),
    ("customer", r"#1  Hi! Could you make the curry extra spicy, please\?"),
    ("vendor", r"#2  Sure, extra spicy it is\. .*"),
    ("customer", r"#3  Perfect, thank you!"),
    ("event", r"order\.rider_assigned -> applied"),
    ("rider", r"joined the room \(participantJoined seen by customer and vendor\)"),
    ("rider", r"connected from lastSeq=0 \(room open, last seq 0\)"),
    ("rider", r"read the history: 3 messages"),
    ("rider", r"#4  Picked up your order, on my way\. .*"),
    ("customer", r"#5  Great, please ring the bell when you arrive\."),
    ("rider", r"#6  At your door now\. Enjoy your meal!"),
    ("event", r"order\.delivered -> applied"),
    ("room", rf"closed \(delivered\) at {TIME}: read-only for customer, vendor and rider"),
    ("customer", r"REFUSED \(ROOM_READ_ONLY\)  Thanks again, it was delicious!"),
    ("check", r"6 messages stored; customer, vendor and rider each received all 6 in seq .*"),
    ("customer", r"disconnected"),
    ("vendor", r"disconnected"),
    ("rider", r"disconnected"),
]


def run_demo(cwd: Path, *args: str, **env_vars: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ORDERCHAT_")}
    env.update(env_vars)
    return subprocess.run(
        [sys.executable, "-m", "orderchat", "demo", "--pace", "0", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def assert_transcript(stdout: str, url: str | None = None) -> str:
    """The story's lines, in order; the order id from the header."""
    lines = stdout.splitlines()
    header = re.fullmatch(
        r"orderchat demo: order ([0-9a-f-]{36}), server (http://127\.0\.0\.1:\d+), .* \(UTC\)",
        lines[0],
    )
    assert header is not None, stdout
    if url is not None:
        assert header.group(2) == url
    assert re.fullmatch(r"cast: customer \w{8}, vendor \w{8}, rider \w{8}", lines[1]), stdout
    assert len(lines) == 2 + len(STORY), stdout
    for line, (who, what) in zip(lines[2:], STORY, strict=True):
        assert re.fullmatch(rf"{TIME}  {who:<8}  {what}", line), (line, stdout)
    return header.group(1)


def test_demo_on_its_embedded_server(tmp_path: Path) -> None:
    done = run_demo(tmp_path)
    assert done.returncode == 0, done.stderr
    assert_transcript(done.stdout)
    assert list(tmp_path.iterdir()) == []  # its state lived in a temporary directory
    assert TEST_SECRET not in done.stdout + done.stderr


def test_demo_against_a_running_server(server: ServerProc, tmp_path: Path) -> None:
    done = run_demo(tmp_path, "--url", server.url + "/", ORDERCHAT_JWT_SECRET=TEST_SECRET)
    assert done.returncode == 0, done.stderr
    order_id = assert_transcript(done.stdout, server.url)
    # what it played is in that server's store: six messages, the room read-only
    room = httpx.get(f"{server.url}/v1/rooms/{order_id}", headers=auth(tok("admin")), timeout=10)
    assert room.status_code == 200, room.text
    assert room.json()["readOnly"] is True and room.json()["closedReason"] == "delivered"
    assert room.json()["lastSeq"] == 6


def test_demo_url_needs_the_secret_and_a_server(server: ServerProc, tmp_path: Path) -> None:
    no_secret = run_demo(tmp_path, "--url", server.url)
    assert no_secret.returncode == 2
    assert "--secret or ORDERCHAT_JWT_SECRET" in no_secret.stderr
    wrong = run_demo(tmp_path, "--url", server.url, "--secret", "another-secret-" + "y" * 40)
    assert wrong.returncode == 1
    assert "demo failed: POST /v1/events order.accepted: 401" in wrong.stderr
