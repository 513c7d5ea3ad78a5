"""Storm mode's results as one JSON document and as a readable summary."""

from __future__ import annotations

from array import array
from typing import Any

from orderchat.bench.stats import summary
from orderchat.bench.storm_model import StormResult
from orderchat.bench.storm_run import StormOutcome, cpu_between

COUNTERS = ("missing", "undelivered", "duplicated", "out_of_order", "connections_lost")
BASELINE_FROM_SECONDS = 0.5  # steady-load CPU is measured from here to the drop


def _merge(results: list[StormResult]) -> StormResult:
    merged = StormResult()
    merged.storm = dict.fromkeys(COUNTERS, 0)
    merged.steady = dict.fromkeys(COUNTERS, 0)
    for part in results:
        for name, mine in vars(merged).items():
            theirs = getattr(part, name)
            if isinstance(mine, dict):
                for key, n in theirs.items():
                    mine[key] = mine.get(key, 0) + n
            elif isinstance(mine, array):
                mine.extend(theirs)
            elif isinstance(mine, bool):
                setattr(merged, name, mine or theirs)
            elif name == "stored":
                continue
            elif isinstance(mine, int | float):
                setattr(merged, name, mine + theirs)
    stored = [part.stored for part in results]
    merged.stored = None if None in stored else sum(s or 0 for s in stored)
    return merged


def _window(ts: array[float], ms: array[float], start: float, end: float) -> dict[str, Any]:
    return summary([v for t, v in zip(ts, ms, strict=True) if start <= t <= end])


def build(outcome: StormOutcome) -> dict[str, Any]:
    opts = outcome.options
    r = _merge(outcome.results)
    opened = outcome.opened
    drop = opts.warmup
    everyone = r.dropped > 0 and len(r.caught_up_s) == r.dropped
    back_s = max(r.back_s) if r.back_s and r.reconnected == r.dropped else None
    caught_s = max(r.caught_up_s) if everyone else None
    end = drop + (caught_s if caught_s is not None else opts.storm_timeout)
    storm_cpu = cpu_between(outcome.cpu, drop, end)
    base_cpu = cpu_between(outcome.cpu, BASELINE_FROM_SECONDS, drop)
    net = None
    if storm_cpu is not None and base_cpu is not None and drop > BASELINE_FROM_SECONDS:
        net = storm_cpu - base_cpu / (drop - BASELINE_FROM_SECONDS) * (end - drop)
    rss = outcome.rss_kib
    before, after = rss.get("before"), rss.get("after")
    grown = after - before if after is not None and before is not None else None
    lost = r.storm["missing"] + r.storm["undelivered"]
    counters = {
        "lost": lost,
        "duplicated": r.storm["duplicated"],
        "out_of_order": r.storm["out_of_order"],
        "gave_up": r.gave_up,
        "not_dropped": (opts.storm or 0) - r.dropped,
        "start_mismatch": r.start_mismatch,
        "steady_lost": r.steady["missing"] + r.steady["undelivered"],
        "steady_duplicated": r.steady["duplicated"],
        "steady_out_of_order": r.steady["out_of_order"],
        "steady_connections_lost": r.steady["connections_lost"],
        "send_failed": r.send_failed,
        "unacked": r.sent - r.acked - r.refused,
        "stored_mismatch": r.stored_mismatch,
        "connect_failed": sum(opened.failures.values()),
        "errors": sum(r.error_codes.values()),
    }
    return {
        "mode": "storm",
        "config": {
            "server": "own" if outcome.local else opts.url,
            "database": (opts.database_url or "sqlite (embedded)").split("@")[-1]
            if outcome.local
            else None,
            "redis": bool(opts.redis_url) if outcome.local else None,
            "instances": 2 if opts.storm_kill else 1,
            "drop": "kill the instance" if opts.storm_kill else "drop the connections",
            "rooms": outcome.rooms,
            "storm_connections": opts.storm,
            "steady_connections": 2 * outcome.rooms,
            "rate": opts.rate,
            "duration": opts.duration,
            "drop_after": drop,
            "reconnect_spread": opts.reconnect_spread,
            "storm_timeout": opts.storm_timeout,
            "open_rate": opts.open_rate,
            "workers": len(outcome.results),
        },
        "connections": {
            "opened": opened.connections,
            "failures": dict(sorted(opened.failures.items())),
            "seconds": round(opened.seconds, 2),
            "handshake_ms": summary(opened.handshake_ms),
        },
        "idle": {
            "connections": outcome.idle_connections,
            "rss_kib_before": rss.get("before"),
            "rss_kib_after": rss.get("after"),
            "kib_per_connection": round(grown / outcome.idle_connections, 2)
            if grown is not None and outcome.idle_connections
            else None,
        },
        "storm": {
            "dropped": r.dropped,
            "reconnected": r.reconnected,
            "gave_up": r.gave_up,
            "attempts": r.attempts,
            "refusals": dict(sorted(r.failures.items())),
            "retry_after": r.retry_after,
            "all_back_seconds": round(back_s, 3) if back_s is not None else None,
            "all_caught_up_seconds": round(caught_s, 3) if caught_s is not None else None,
            "handshakes_per_second": round(r.reconnected / back_s, 1) if back_s else None,
            "handshake_ms": summary(r.handshake_ms),
            "back_ms": summary([s * 1000 for s in r.back_s]),
            "caught_up_ms": summary([s * 1000 for s in r.caught_up_s]),
            "resumed_messages": r.resumed,
        },
        "steady": {
            "sent": r.sent,
            "acked": r.acked,
            "refused": r.refused,
            "stored": r.stored,
            "e2e_ms_before_drop": _window(r.e2e_t, r.e2e_ms, 0, drop),
            "e2e_ms_during_storm": _window(r.e2e_t, r.e2e_ms, drop, end),
            "ack_ms_during_storm": _window(r.ack_t, r.ack_ms, drop, end),
            "e2e_ms": summary(r.e2e_ms),
        },
        "server": {
            "rss_kib_end": rss.get("end"),
            "cpu_seconds_storm": round(storm_cpu, 3) if storm_cpu is not None else None,
            "cpu_seconds_storm_net": round(net, 3) if net is not None else None,
            "cpu_ms_per_handshake": round(1000 * net / r.reconnected, 3)
            if net is not None and r.reconnected
            else None,
        },
        "machine": outcome.machine,
        "integrity": counters
        | {
            "errors_by_code": dict(sorted(r.error_codes.items())),
            "timed_out": r.timed_out,
            "stored_verified": r.stored is not None,
            "ok": not any(counters.values())
            and r.stored is not None
            and not r.timed_out
            and everyone,
        },
    }


def _ms(figures: dict[str, Any]) -> str:
    if not figures.get("n"):
        return "no sample"
    keys = ("p50", "p95", "p99", "max")
    return "  ".join(f"{k} {figures[k]:>8.2f}" for k in keys) + f"   (n={figures['n']})"


def text(doc: dict[str, Any]) -> str:
    cfg, st, steady, srv = doc["config"], doc["storm"], doc["steady"], doc["server"]
    idle, integ = doc["idle"], doc["integrity"]
    machine = doc["machine"]
    load_before = machine.get("load_average_before", 0)
    load_after = machine.get("load_average_after", 0)
    lines = [
        f"orderchat bench (storm): {cfg['storm_connections']} connections over "
        f"{cfg['rooms']} rooms (+{cfg['steady_connections']} steady), {cfg['drop']}, "
        f"{cfg['instances']} instance(s) on {cfg['database']}"
        + (" + Redis" if cfg["redis"] else ""),
        f"idle          {idle['connections']} connections: RSS {idle['rss_kib_before']} -> "
        f"{idle['rss_kib_after']} KiB = {idle['kib_per_connection']} KiB per connection",
        f"storm         dropped {st['dropped']}, back {st['reconnected']}, gave up "
        f"{st['gave_up']}, attempts {st['attempts']} {st['refusals'] or ''}",
        f"all back      {st['all_back_seconds']} s ({st['handshakes_per_second']} handshakes/s);"
        f" all caught up {st['all_caught_up_seconds']} s; resumed {st['resumed_messages']} msgs",
        f"handshake ms  {_ms(st['handshake_ms'])}",
        f"caught up ms  {_ms(st['caught_up_ms'])}",
        f"steady e2e ms {_ms(steady['e2e_ms_during_storm'])} during the storm",
        f"              {_ms(steady['e2e_ms_before_drop'])} before the drop",
        f"server CPU    {srv['cpu_seconds_storm']} s in the storm, "
        f"{srv['cpu_seconds_storm_net']} s over the steady load = "
        f"{srv['cpu_ms_per_handshake']} ms per handshake",
        "integrity     "
        + ", ".join(f"{k} {v}" for k, v in integ.items() if isinstance(v, int) and k != "ok")
        + (f" {integ['errors_by_code']}" if integ["errors_by_code"] else ""),
        f"machine       {machine.get('cpus')} CPUs, 1-min load average {load_before:.2f} -> "
        f"{load_after:.2f}",
        "RESULT        " + ("OK" if integ["ok"] else "FAILED"),
    ]
    return "\n".join(lines)
