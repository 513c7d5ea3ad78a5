"""`orderchat bench`: the load from several client processes, merged; server CPU and RSS."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from orderchat.bench.runner import _cpu_seconds, _split
from tests.conftest import TEST_SECRET
from tests.e2e.conftest import StartServer

pytestmark = pytest.mark.e2e


def bench(cwd: Path, *args: str) -> dict[str, Any]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ORDERCHAT_")}
    done = subprocess.run(
        [sys.executable, "-m", "orderchat", "bench", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def test_split_spreads_rooms_over_workers_without_empty_ones() -> None:
    assert _split(5, 2) == [3, 2]
    assert _split(2, 4) == [1, 1]
    assert _split(3, 1) == [3]
    assert sum(_split(101, 7)) == 101


def test_cpu_seconds_reads_proc_stat() -> None:
    before = _cpu_seconds(os.getpid())
    assert before is not None
    sum(i * i for i in range(300_000))  # some CPU work of this process
    after = _cpu_seconds(os.getpid())
    assert after is not None and after >= before
    assert _cpu_seconds(2**22 + 12345) is None  # no such process


def test_bench_own_server_several_clients_merges_every_latency(tmp_path: Path) -> None:
    out = bench(tmp_path, "--rooms", "3", "--messages", "4", "--clients", "2")
    assert out["clients"] == 2
    assert out["messages"] == 12
    assert out["errors"] == 0 and out["readers_timed_out"] == 0
    assert out["ack_ms"]["n"] == 12  # both workers' acks are in the summary
    assert out["deliver_ms"]["n"] == 12
    assert out["server_cpu"]["seconds"] > 0
    assert out["server_rss_mib"]["end"] > 0
    assert out["client_cpu"]["seconds"] > 0


def test_bench_against_running_server(tmp_path: Path, start_server: StartServer) -> None:
    server = start_server()
    url = f"http://127.0.0.1:{server.port}"
    out = bench(tmp_path, "--url", url, "--secret", TEST_SECRET, "--rooms", "2", "--messages", "3")
    assert out["clients"] == 1
    assert out["ack_ms"]["n"] == 6 and out["deliver_ms"]["n"] == 6
    assert out["errors"] == 0
    assert out["server_cpu"]["seconds"] is None  # not our process: no /proc figures
