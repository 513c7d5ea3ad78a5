"""`orderchat bench`: open-loop load against a started server, integrity, JSON, plot,
idle connections; and what it shows when the server stalls or dies under it."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import TEST_SECRET
from tests.e2e.conftest import ServerProc
from tests.procs import stop_process

pytestmark = pytest.mark.e2e

TOP_KEYS = {
    "mode",
    "config",
    "connections",
    "server",
    "machine",
    "idle",
    "messages",
    "rates",
    "ack_ms",
    "e2e_ms",
    "send_lag_ms",
    "integrity",
    "generator",
    "timeline",
}
LATENCY_KEYS = ["n", "p50", "p95", "p99", "p99.9", "max", "mean"]


def bench_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "orderchat", "bench", "--json", "--no-progress", *args]


def bench_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("ORDERCHAT_")}


def run_bench(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        bench_command(*args),
        cwd=cwd,
        env=bench_env(),
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )


def bench(cwd: Path, *args: str) -> tuple[int, dict[str, Any]]:
    done = run_bench(cwd, *args)
    assert done.stdout.startswith("{"), done.stderr
    result: dict[str, Any] = json.loads(done.stdout)
    return done.returncode, result


def against(server: ServerProc) -> list[str]:
    return ["--url", server.url, "--secret", TEST_SECRET, "--server-pid", str(server.proc.pid)]


def test_short_run_on_own_server_is_clean_and_complete(tmp_path: Path, db_url: str) -> None:
    plot = tmp_path / "latency.png"
    rc, out = bench(
        tmp_path,
        *("--database-url", db_url, "--rooms", "3", "--rate", "50", "--duration", "2"),
        *("--warmup", "0.5", "--workers", "2", "--plot", str(plot)),
    )
    assert rc == 0, out["integrity"]
    assert set(out) == TOP_KEYS
    assert out["mode"] == "load" and out["config"]["workers"] == 2
    assert out["connections"]["opened"] == 9 and out["connections"]["failed"] == 0
    assert out["connections"]["handshake_ms"]["n"] == 9
    msgs = out["messages"]
    assert msgs["scheduled"] == 125  # 50/s for 0.5 + 2 s
    assert msgs["sent"] == msgs["acked"] == msgs["stored"] == 125
    assert msgs["delivered"] == 2 * 125  # each message reaches the two other participants
    integrity = out["integrity"]
    assert integrity["ok"] is True and integrity["stored_verified"] is True
    counters = ("missing", "undelivered", "duplicated", "out_of_order", "unacked", "errors")
    for key in (*counters, "stored_mismatch", "connections_lost"):
        assert integrity[key] == 0, key
    # only messages due after the warm-up are measured: 100 acks, 200 deliveries
    assert out["ack_ms"]["n"] == 100 and out["e2e_ms"]["n"] == 200
    assert list(out["e2e_ms"]) == LATENCY_KEYS
    assert out["e2e_ms"]["p50"] <= out["e2e_ms"]["p99"] <= out["e2e_ms"]["max"]
    assert sum(row["n"] for row in out["timeline"]) == 200
    assert out["server"]["cpu_seconds"] > 0 and out["server"]["rss_kib"]["before"] > 0
    assert len(out["generator"]["workers"]) == 2
    assert all(w["longest_gc_pause_ms"] >= 0 for w in out["generator"]["workers"])
    assert out["machine"]["cpus"] == os.cpu_count()
    assert out["generator"]["cpu_seconds"] > 0
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_sender_limit_lets_a_started_server_take_more_per_sender(tmp_path: Path) -> None:
    # 1 room at 60 msg/s: 20/s from each of its 3 senders, over the default 10/s (burst 20)
    args = ("--rooms", "1", "--rate", "60", "--duration", "2", "--warmup", "0.5")
    limited = run_bench(tmp_path, *args)
    assert limited.returncode == 1
    assert "over the server's rate limit (10/s)" in limited.stderr
    out = json.loads(limited.stdout)
    assert out["config"]["sender_limit"] is None
    assert out["integrity"]["errors_by_code"].get("RATE_LIMITED", 0) > 0

    rc, out = bench(tmp_path, *args, "--sender-limit", "40")
    assert rc == 0, out["integrity"]
    assert out["config"]["sender_limit"] == 40
    assert out["messages"]["acked"] == out["messages"]["scheduled"] == 150
    assert out["integrity"]["errors"] == 0


def test_sender_limit_is_refused_for_a_running_server(tmp_path: Path) -> None:
    done = run_bench(
        tmp_path, "--url", "http://127.0.0.1:9", "--secret", TEST_SECRET, "--sender-limit", "40"
    )
    assert done.returncode != 0
    assert "--sender-limit sets the server the bench starts" in done.stderr


def test_readable_summary_without_json(tmp_path: Path, server: ServerProc) -> None:
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "orderchat",
            "bench",
            *against(server),
            "--rooms",
            "2",
            "--rate",
            "20",
            "--duration",
            "1",
            "--warmup",
            "0",
        ],
        cwd=tmp_path,
        env=bench_env(),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "e2e ms" in done.stdout and "handshake ms" in done.stdout
    assert "RESULT        OK" in done.stdout


def test_idle_mode_reports_memory_per_connection(tmp_path: Path, server: ServerProc) -> None:
    plot = tmp_path / "handshakes.png"
    rc, out = bench(
        tmp_path, *against(server), "--idle", "150", "--open-rate", "300", "--plot", str(plot)
    )
    assert rc == 0
    assert out["mode"] == "idle" and out["messages"] is None
    idle = out["idle"]
    assert idle["connections"] == 150 == out["connections"]["opened"]
    assert out["connections"]["handshake_ms"]["n"] == 150
    assert idle["rss_kib_after"] > idle["rss_kib_before"]
    assert idle["kib_per_connection"] > 0
    assert idle["total_kib"] == idle["rss_kib_after"] - idle["rss_kib_before"]
    assert sum(row["n"] for row in out["connections"]["timeline"]) == 150
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def _wait_for_stored_messages(server: ServerProc, bench_proc: subprocess.Popen[str]) -> None:
    """Until the server has stored a message of the bench (its load phase has begun)."""
    while bench_proc.poll() is None:
        metrics = httpx.get(server.url + "/metrics", timeout=5).text
        for line in metrics.splitlines():
            stored = line.startswith('orderchat_messages_total{outcome="stored"}')
            if stored and float(line.split()[-1]) > 0:
                return
        time.sleep(0.05)
    raise AssertionError("the bench ended before its load reached the server")


def _start_bench(tmp_path: Path, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        bench_command(*args),
        cwd=tmp_path,
        env=bench_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_a_stalled_server_shows_in_the_latency_of_every_message_due_meanwhile(
    tmp_path: Path, server: ServerProc
) -> None:
    """SIGSTOP the server for 2 s during an 8 s run at 40 msg/s: every message due in the
    first second of the stall waits at least 1 s, i.e. >= 40 of 320 measured sends, so
    p95 of both ack and e2e latency is at least 1000 ms. A closed-loop bench, timing from
    the actual send, would see one slow message per sender only."""
    load = ("--rooms", "3", "--rate", "40", "--duration", "8", "--warmup", "0")
    proc = _start_bench(tmp_path, *against(server), *load, "--drain-timeout", "30")
    try:
        _wait_for_stored_messages(server, proc)
        os.kill(server.proc.pid, signal.SIGSTOP)
        time.sleep(2.0)  # the stall itself is what is measured
        os.kill(server.proc.pid, signal.SIGCONT)
        stdout, _stderr = proc.communicate(timeout=120)
    finally:
        os.kill(server.proc.pid, signal.SIGCONT)
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    out = json.loads(stdout)
    assert proc.returncode == 0, out["integrity"]
    assert out["integrity"]["ok"] is True  # late, but nothing lost
    assert out["messages"]["stored"] == out["messages"]["scheduled"] == 320
    assert out["ack_ms"]["p95"] >= 1000
    assert out["e2e_ms"]["p95"] >= 1000
    assert out["send_lag_ms"]["p95"] < 1000  # the generator kept its schedule


def test_a_killed_server_fails_the_run(tmp_path: Path, server: ServerProc) -> None:
    load = ("--rooms", "3", "--rate", "40", "--duration", "4", "--warmup", "0")
    proc = _start_bench(tmp_path, *against(server), *load, "--drain-timeout", "2")
    try:
        _wait_for_stored_messages(server, proc)
        stop_process(server.proc, signal.SIGKILL)
        stdout, _ = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    out = json.loads(stdout)
    assert proc.returncode == 1
    integrity = out["integrity"]
    assert integrity["ok"] is False
    assert integrity["connections_lost"] == 9
    assert integrity["send_failed"] > 0  # sends due after the kill had no connection
    assert integrity["stored_verified"] is False
    assert out["messages"]["sent"] < out["messages"]["scheduled"]
