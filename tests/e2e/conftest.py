"""Start real `orderchat serve` processes (python -m orderchat serve) for end-to-end tests."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from tests.conftest import TEST_SECRET
from tests.procs import free_port, stop_process


@dataclass
class ServerProc:
    port: int
    env: dict[str, str]
    log_path: Path
    proc: subprocess.Popen[bytes] = field(repr=False)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    def logs(self) -> str:
        return self.log_path.read_text(errors="replace")

    def alive(self) -> bool:
        return self.proc.poll() is None

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 30.0) -> int:
        return stop_process(self.proc, sig, timeout)

    def kill(self) -> None:
        self.stop(signal.SIGKILL)


def wait_ready(server: ServerProc, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not server.alive():
            raise AssertionError(f"orderchat serve exited early:\n{server.logs()}")
        try:
            if httpx.get(server.url + "/healthz", timeout=1.0).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise AssertionError(f"orderchat serve did not become healthy:\n{server.logs()}")


def launch_serve(port: int, env: dict[str, str], cwd: Path, log_path: Path) -> ServerProc:
    """`python -m orderchat serve` with this environment, its output in ``log_path``."""
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "orderchat", "serve"],
            env=env,
            cwd=cwd,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    return ServerProc(port=port, env=env, log_path=log_path, proc=proc)


StartServer = Callable[..., ServerProc]


@pytest.fixture
def start_server(tmp_path: Path, db_url: str) -> Iterator[StartServer]:
    """start_server(**ORDERCHAT_overrides) -> a running server on a free port, on `db_url`."""
    started: list[ServerProc] = []

    def start(port: int | None = None, **overrides: str) -> ServerProc:
        n = len(started)
        port = port or free_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith("ORDERCHAT_")}
        env.update(
            {
                "ORDERCHAT_PORT": str(port),
                "ORDERCHAT_DATA_DIR": str(tmp_path / f"data-{n}"),
                "ORDERCHAT_DATABASE_URL": db_url,
                "ORDERCHAT_JWT_SECRET": TEST_SECRET,
                "ORDERCHAT_LOG_LEVEL": "debug",
            }
        )
        env.update({f"ORDERCHAT_{k.upper()}": v for k, v in overrides.items()})
        server = launch_serve(port, env, tmp_path, tmp_path / f"server-{n}.log")
        started.append(server)
        wait_ready(server)
        return server

    yield start
    for server in started:
        server.stop()


@pytest.fixture
def server(start_server: StartServer) -> ServerProc:
    return start_server()
