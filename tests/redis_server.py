"""A redis-server of the test's own, on a free port: start, stop, restart, hang (SIGSTOP).

The machine's Redis on 6379 is shared, so tests that break Redis start their own here.
Persistence is off (`--save "" --appendonly no`); a restart comes back empty on the same
port, as a crashed-and-restarted cache would.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.procs import free_port, stop_process


def _answers_ping(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5) as s:
            s.sendall(b"PING\r\n")
            return s.recv(16).startswith(b"+PONG")
    except OSError:
        return False


class RedisServer:
    """One redis-server process; `stop`/`start` keep the port, `pause`/`resume` hang it."""

    def __init__(self, workdir: Path, port: int | None = None) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            raise RuntimeError("redis-server is not installed")
        self.binary = binary
        self.port = port or free_port()
        self.workdir = workdir
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.proc: subprocess.Popen[bytes] | None = None
        self.paused = False

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self, timeout: float = 10.0) -> None:
        if self.proc is not None and self.proc.poll() is None:
            return
        log = (self.workdir / "redis.log").open("ab")
        self.proc = subprocess.Popen(
            [
                self.binary,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.workdir),
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()
        self.paused = False
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"redis-server exited: {self.logs()}")
            if _answers_ping(self.port):
                return
            time.sleep(0.02)
        raise RuntimeError(f"redis-server on {self.port} did not answer PING")

    def stop(self) -> None:
        """Stop the server (a clean SIGTERM, or SIGKILL if it was paused)."""
        proc = self.proc
        if proc is None or proc.poll() is not None:
            return
        stop_process(proc, signal.SIGKILL if self.paused else signal.SIGTERM)
        self.paused = False

    def restart(self) -> None:
        self.stop()
        self.start()

    def pause(self) -> None:
        """SIGSTOP: the socket stays open, nothing answers (a hung Redis)."""
        assert self.proc is not None and self.proc.poll() is None
        os.kill(self.proc.pid, signal.SIGSTOP)
        self.paused = True

    def resume(self) -> None:
        assert self.proc is not None
        os.kill(self.proc.pid, signal.SIGCONT)
        self.paused = False

    def logs(self) -> str:
        path = self.workdir / "redis.log"
        return path.read_text(errors="replace") if path.exists() else ""


@contextlib.contextmanager
def running_redis(workdir: Path) -> Iterator[RedisServer]:
    """A started RedisServer, stopped (and un-paused first) on exit."""
    server = RedisServer(workdir)
    server.start()
    try:
        yield server
    finally:
        if server.paused:
            server.resume()
        server.stop()


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    """Import into a test module (or a conftest) to use it as a fixture."""
    with running_redis(tmp_path / "redis") as server:
        yield server
