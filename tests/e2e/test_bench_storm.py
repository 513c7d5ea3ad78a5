"""`orderchat bench --storm`: connections dropped at once (or their instance killed) come
back with lastSeq, and the report counts what they resumed, lost, doubled or reordered."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from tests.e2e.conftest import StartServer
from tests.e2e.test_bench import against, bench
from tests.redis_server import running_redis

pytestmark = pytest.mark.e2e

# 24 storm connections over 4 rooms (6 each: two per participant) + 8 steady ones; the
# steady senders send 20 msg/s (5 per room, under the 10/s limit) for 4 s, dropping at 1.5 s.
STORM = ("--storm", "24", "--rooms", "4", "--rate", "20", "--duration", "4", "--warmup", "1.5")


def _assert_complete(out: dict[str, object], dropped: int) -> None:
    storm, steady, integrity = out["storm"], out["steady"], out["integrity"]
    assert isinstance(storm, dict) and isinstance(steady, dict) and isinstance(integrity, dict)
    assert storm["dropped"] == storm["reconnected"] == dropped
    assert storm["handshake_ms"]["n"] == dropped
    assert storm["caught_up_ms"]["n"] == dropped
    assert 0 < storm["all_back_seconds"] <= storm["all_caught_up_seconds"]
    assert storm["handshake_ms"]["p50"] <= storm["handshake_ms"]["p99"]
    # every message acked, stored once, and received by every connection in order, once
    assert steady["sent"] == steady["acked"] == steady["stored"] == 80
    for key in ("lost", "duplicated", "out_of_order", "gave_up", "start_mismatch"):
        assert integrity[key] == 0, key
    for key in ("steady_lost", "steady_duplicated", "steady_out_of_order", "stored_mismatch"):
        assert integrity[key] == 0, key
    assert integrity["stored_verified"] is True and integrity["ok"] is True
    assert steady["e2e_ms"]["n"] == 80  # the steady receiver got every message


def test_storm_drops_and_resumes_every_connection(tmp_path: Path, db_url: str) -> None:
    rc, out = bench(tmp_path, "--database-url", db_url, *STORM)
    assert rc == 0, out["integrity"]
    assert out["mode"] == "storm" and out["config"]["instances"] == 1
    _assert_complete(out, 24)
    assert out["connections"]["opened"] == 24 + 8
    idle = out["idle"]
    assert idle["connections"] == 32 and idle["kib_per_connection"] is not None
    assert out["server"]["cpu_seconds_storm"] is not None


@pytest.mark.parametrize("backend", ["postgresql"])
def test_storm_kill_moves_every_connection_to_the_other_instance(
    tmp_path: Path, db_url: str
) -> None:
    with running_redis(tmp_path / "redis") as redis:
        rc, out = bench(
            tmp_path, "--database-url", db_url, "--redis-url", redis.url, "--storm-kill", *STORM
        )
    assert rc == 0, out["integrity"]
    assert out["config"]["instances"] == 2
    _assert_complete(out, 24)
    # dropped by the kill, not by the bench: they were held by the killed instance only
    assert out["idle"]["connections"] == 24
    # the killed instance refused or reset nothing the bench counts as lost
    assert out["integrity"]["steady_connections_lost"] == 0


def test_a_gate_of_one_sheds_the_storm_with_retry_after_and_loses_nothing(
    tmp_path: Path, start_server: StartServer
) -> None:
    """One upgrade checked at a time, none waiting: 24 at once cannot all pass the gate, the
    rest are answered 503 with Retry-After (1 s), come back after it, and miss nothing."""
    server = start_server(handshake_concurrency="1", handshake_queue="0")
    rc, out = bench(tmp_path, *against(server), *STORM)
    assert rc == 0, (out["integrity"], out["connections"])
    _assert_complete(out, 24)
    storm = out["storm"]
    assert storm["refusals"].get("503", 0) > 0
    assert storm["retry_after"] == storm["refusals"]["503"]  # every 503 said when to retry
    assert storm["attempts"] == 24 + storm["retry_after"]
    metrics = httpx.get(server.url + "/metrics", timeout=5).text
    assert 'orderchat_websocket_connections_total{outcome="shed"}' in metrics
