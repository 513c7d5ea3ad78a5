"""The `orderchat` command's refusals: one line naming what to fix, the right exit status."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from orderchat import __version__
from orderchat.domain.events import EVENT_TYPES
from tests.e2e.test_cli import run
from tests.procs import free_port

pytestmark = pytest.mark.e2e


def one_line(result: subprocess.CompletedProcess[str]) -> str:
    assert "Traceback" not in result.stderr + result.stdout, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    return lines[0]


def unwritable_dir(tmp_path: Path) -> Path:
    """A directory that exists and cannot be written: root writes through modes, so as
    root, /sys (sysfs refuses new files to everyone)."""
    if os.geteuid() == 0:
        return Path("/sys")
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    return locked


@pytest.mark.parametrize("command", ["migrate", "serve"])
def test_database_down_is_one_line_exit_1(tmp_path: Path, command: str) -> None:
    url = f"postgresql://postgres@127.0.0.1:{free_port()}/nowhere"
    result = run(tmp_path, command, database_url=url, port=str(free_port()))
    line = one_line(result)
    assert result.returncode == 1
    assert line.startswith("orderchat: configuration error: ORDERCHAT_DATABASE_URL:"), line
    assert "does not answer" in line


@pytest.mark.parametrize("command", ["migrate", "serve"])
def test_unwritable_data_dir_is_named_with_its_reason(tmp_path: Path, command: str) -> None:
    locked = unwritable_dir(tmp_path)
    result = run(tmp_path, command, data_dir=str(locked), port=str(free_port()))
    line = one_line(result)
    assert result.returncode == 1
    assert "ORDERCHAT_DATA_DIR" in line and "ORDERCHAT_DATABASE_URL" not in line, line
    assert str(locked) in line and "ermission denied" in line, line


def test_unwritable_sqlite_directory_names_database_url(tmp_path: Path) -> None:
    locked = unwritable_dir(tmp_path)
    url = f"sqlite:///{locked}/orderchat.db"
    result = run(tmp_path, "migrate", database_url=url, jwt_secret="s" * 40)
    line = one_line(result)
    assert result.returncode == 1 and "ORDERCHAT_DATABASE_URL" in line, line


@pytest.mark.parametrize("content", ["\n", "short-secret\n", "x" * 31])
def test_short_secret_file_refused_like_the_variable(tmp_path: Path, content: str) -> None:
    data = tmp_path / "orderchat-data"
    data.mkdir(mode=0o700)
    secret = data / "jwt-secret"
    secret.write_text(content)
    secret.chmod(0o600)
    result = run(tmp_path, "token", "--sub", str(uuid.uuid4()), "--role", "customer")
    line = one_line(result)
    assert result.returncode == 1
    assert "ORDERCHAT_DATA_DIR" in line and "32 bytes" in line, line
    served = run(tmp_path, "serve", port=str(free_port()))
    assert served.returncode == 1 and "32 bytes" in one_line(served)


@pytest.mark.parametrize("ttl", ["0", "-5"])
def test_token_ttl_must_be_positive(tmp_path: Path, ttl: str) -> None:
    result = run(tmp_path, "token", "--sub", str(uuid.uuid4()), "--role", "customer", "--ttl", ttl)
    assert result.returncode == 2 and "--ttl" in result.stderr and result.stdout == ""


def test_publish_refuses_an_unknown_event_type(tmp_path: Path) -> None:
    # a typo must not reach the server (which answers "ignored"): no server runs here
    args = ("publish", "order.deliverd", "--order-id", str(uuid.uuid4()))
    result = run(tmp_path, *args, port=str(free_port()), jwt_secret="s" * 40)
    assert result.returncode == 2
    assert "unknown eventType 'order.deliverd'" in result.stderr
    assert "cannot reach" not in result.stderr
    anyway = run(tmp_path, *args, "--any-type", port=str(free_port()), jwt_secret="s" * 40)
    assert anyway.returncode == 1 and "cannot reach" in anyway.stderr  # it did try


def test_publish_help_lists_the_event_types(tmp_path: Path) -> None:
    result = run(tmp_path, "publish", "--help")
    assert result.returncode == 0
    text = " ".join(result.stdout.split())  # argparse wraps lines
    for event_type in EVENT_TYPES:
        assert event_type in text
    assert "--any-type" in text


def test_version(tmp_path: Path) -> None:
    result = run(tmp_path, "--version")
    assert result.returncode == 0 and result.stdout.strip() == f"orderchat {__version__}"


def test_bench_without_its_extra_is_one_line(tmp_path: Path) -> None:
    code = (
        "import sys; sys.modules['picows'] = None\n"  # import picows -> ImportError
        "from orderchat.cli import main; sys.exit(main(['bench', '--duration', '1']))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=60
    )
    line = one_line(result)
    assert result.returncode == 1
    assert "pip install 'orderchat[bench]'" in line, line
