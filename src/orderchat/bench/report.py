"""The bench's results as one JSON document (stable keys) and as a readable summary."""

from __future__ import annotations

from typing import Any

from orderchat.bench.runner import Outcome
from orderchat.bench.stats import summary, timeline

GENERATOR_SATURATED_PERCENT = 85.0  # a worker above this share of a core may lag its schedule

INTEGRITY_KEYS = (
    "missing",
    "undelivered",
    "duplicated",
    "out_of_order",
    "unacked",
    "send_failed",
    "stored_mismatch",
    "connections_lost",
    "connect_failed",
    "errors",
)


def _per_second(n: int, seconds: float) -> float | None:
    return round(n / seconds, 1) if seconds > 0 else None


def build(outcome: Outcome) -> dict[str, Any]:
    opts = outcome.options
    opened = outcome.opened
    idle = opts.idle is not None
    connect_failed = sum(opened.failures.values())
    doc: dict[str, Any] = {
        "mode": "idle" if idle else "load",
        "config": {
            "server": "own" if outcome.local else opts.url,
            "database": (opts.database_url or "sqlite (embedded)").split("@")[-1]
            if outcome.local
            else None,
            "redis": bool(opts.redis_url) if outcome.local else None,
            "sender_limit": opts.sender_limit,
            "rooms": outcome.rooms,
            "connections": opts.idle if idle else outcome.rooms * 3,
            "rate": None if idle else opts.rate,
            "duration": None if idle else opts.duration,
            "warmup": None if idle else opts.warmup,
            "open_rate": opts.open_rate,
            "workers": len(outcome.worker_cpu) or opts.workers,
        },
        "connections": {
            "opened": opened.connections,
            "failed": connect_failed,
            "failures": dict(sorted(opened.failures.items())),
            "seconds": round(opened.seconds, 2),
            "per_second": _per_second(opened.connections, opened.seconds),
            "handshake_ms": summary(opened.handshake_ms),
            # per second of the opening schedule: does the server slow down as it fills?
            "timeline": timeline(opened.handshake_t, opened.handshake_ms),
            "generator_percent_of_one_core": round(100 * opened.cpu_seconds / opened.seconds, 1)
            if opened.seconds > 0
            else None,
        },
        "server": {
            "pid": opts.server_pid if not outcome.local else None,
            "rss_kib": outcome.server_rss_kib,
            "cpu_seconds": None,
            "cpu_percent_of_one_core": None,
        },
        "machine": outcome.machine,
        "idle": None,
        "messages": None,
        "rates": None,
        "ack_ms": None,
        "e2e_ms": None,
        "send_lag_ms": None,
        "integrity": None,
        "generator": None,
        "timeline": None,
    }
    rss = outcome.server_rss_kib
    if idle:
        before, after = rss.get("before"), rss.get("after")
        grown = after - before if before is not None and after is not None else None
        doc["idle"] = {
            "connections": opened.connections,
            "rss_kib_before": before,
            "rss_kib_after": after,
            "total_kib": grown,
            "kib_per_connection": round(grown / opened.connections, 2)
            if grown is not None and opened.connections
            else None,
        }
        doc["integrity"] = {key: 0 for key in INTEGRITY_KEYS} | {
            "connect_failed": connect_failed,
            "errors_by_code": {},
            "ok": connect_failed == 0,
        }
        return doc
    load = outcome.load
    assert load is not None
    window = opts.duration
    if outcome.server_cpu_seconds is not None:
        doc["server"]["cpu_seconds"] = round(outcome.server_cpu_seconds, 2)
        doc["server"]["cpu_percent_of_one_core"] = round(
            100 * outcome.server_cpu_seconds / window, 1
        )
    doc["messages"] = {
        "scheduled": load.scheduled,
        "sent": load.sent,
        "acked": load.acked,
        "refused": load.refused,
        "delivered": load.delivered,
        "stored": load.stored,
    }
    doc["rates"] = {
        "target_per_second": opts.rate,
        "sent_per_second": _per_second(load.sent_measured, window),
        "acked_per_second": _per_second(len(load.ack_ms), window),
        "delivered_per_second": _per_second(len(load.e2e_ms), window),
    }
    doc["ack_ms"] = summary(load.ack_ms)
    doc["e2e_ms"] = summary(load.e2e_ms)
    doc["send_lag_ms"] = summary(load.send_lag_ms)
    counters = {
        "missing": load.missing,
        "undelivered": load.undelivered,
        "duplicated": load.duplicated,
        "out_of_order": load.out_of_order,
        "unacked": load.unacked,
        "send_failed": load.send_failed,
        "stored_mismatch": load.stored_mismatch,
        "connections_lost": load.connections_lost,
        "connect_failed": connect_failed,
        "errors": sum(load.error_codes.values()),
    }
    doc["integrity"] = counters | {
        "errors_by_code": dict(sorted(load.error_codes.items())),
        "duplicate_acks": load.duplicate_acks,
        "drain_timed_out": load.drain_timed_out,
        "stored_verified": load.stored is not None,
        "ok": not any(counters.values()) and load.stored is not None,
    }
    cpu = sum(w["cpu_seconds"] for w in outcome.worker_cpu)
    busiest = max((w["percent_of_one_core"] for w in outcome.worker_cpu), default=0.0)
    doc["generator"] = {
        "cpu_seconds": round(cpu, 2),
        "workers": outcome.worker_cpu,
        "saturated": busiest >= GENERATOR_SATURATED_PERCENT,
    }
    doc["timeline"] = timeline(load.e2e_t, load.e2e_ms)
    return doc


def ok(doc: dict[str, Any]) -> bool:
    return bool(doc["integrity"]["ok"])


def _ms(figures: dict[str, Any] | None) -> str:
    if not figures or not figures.get("n"):
        return "no sample"
    keys = ("p50", "p95", "p99", "p99.9", "max")
    return "  ".join(f"{k} {figures[k]:>8.2f}" for k in keys) + f"   (n={figures['n']})"


def text(doc: dict[str, Any]) -> str:
    cfg, conns, server = doc["config"], doc["connections"], doc["server"]
    lines = [
        f"orderchat bench ({doc['mode']}): {cfg['rooms']} rooms, {cfg['connections']} "
        f"connections, server {cfg['server']}"
        + (
            f" on {cfg['database']}" + (" + Redis" if cfg["redis"] else "")
            if cfg["database"]
            else ""
        )
        + (f", sender limit {cfg['sender_limit']:g}/s" if cfg["sender_limit"] else ""),
        f"connections   opened {conns['opened']}, failed {conns['failed']} "
        f"{conns['failures'] or ''} in {conns['seconds']} s ({conns['per_second']}/s; "
        f"generator {conns['generator_percent_of_one_core']}% of one core)",
        f"handshake ms  {_ms(conns['handshake_ms'])}",
    ]
    if doc["idle"] is not None:
        idle = doc["idle"]
        lines.append(
            f"server RSS    {idle['rss_kib_before']} -> {idle['rss_kib_after']} KiB: "
            f"{idle['total_kib']} KiB for {idle['connections']} connections = "
            f"{idle['kib_per_connection']} KiB per connection"
        )
    else:
        msgs, rates, integ, gen = doc["messages"], doc["rates"], doc["integrity"], doc["generator"]
        lines += [
            f"schedule      {cfg['rate']:g} msg/s for {cfg['duration']:g} s after a "
            f"{cfg['warmup']:g} s warm-up, {cfg['workers']} worker(s)",
            f"messages      scheduled {msgs['scheduled']}, sent {msgs['sent']}, acked "
            f"{msgs['acked']}, refused {msgs['refused']}, delivered {msgs['delivered']}, "
            f"stored {msgs['stored']}",
            f"rates /s      sent {rates['sent_per_second']}, acked {rates['acked_per_second']}, "
            f"delivered {rates['delivered_per_second']} (measured window)",
            f"ack ms        {_ms(doc['ack_ms'])}",
            f"e2e ms        {_ms(doc['e2e_ms'])}",
            f"send lag ms   {_ms(doc['send_lag_ms'])}",
            "integrity     "
            + ", ".join(f"{k} {integ[k]}" for k in INTEGRITY_KEYS)
            + (f" {integ['errors_by_code']}" if integ["errors_by_code"] else ""),
            f"server CPU    {server['cpu_seconds']} s = {server['cpu_percent_of_one_core']}% "
            f"of one core (measured window); RSS {server['rss_kib'].get('before')} -> "
            f"{server['rss_kib'].get('end')} KiB",
            f"generator CPU {gen['cpu_seconds']} s; per worker "
            + ", ".join(f"{w['percent_of_one_core']}%" for w in gen["workers"])
            + " of one core; longest GC pause "
            + f"{max((w['longest_gc_pause_ms'] for w in gen['workers']), default=0)} ms"
            + (
                "  ** SATURATED: the figures include the generator's own lag **"
                if gen["saturated"]
                else ""
            ),
        ]
        if integ["drain_timed_out"]:
            lines.append(
                "              (gave up waiting for the last frames after --drain-timeout: "
                "the server was behind; undelivered/unacked are its backlog)"
            )
        if not integ["stored_verified"]:
            lines.append("              (stored counts could not be read over REST)")
    machine = doc["machine"]
    lines.append(
        f"machine       {machine.get('cpus')} CPUs, 1-min load average "
        f"{machine.get('load_average_before', 0):.2f} -> {machine.get('load_average_after', 0):.2f}"
    )
    lines.append(
        "RESULT        " + ("OK" if ok(doc) else "FAILED: integrity counters are not zero")
    )
    return "\n".join(lines)
