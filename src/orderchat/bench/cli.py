"""Arguments of `orderchat bench` and the call into the runner."""

from __future__ import annotations

import argparse
import asyncio
import sys

import orjson

from orderchat.config import Settings


def _positive(kind: type[int] | type[float]) -> argparse._ActionType:
    def parse(value: str) -> int | float:
        number = kind(value)
        if number <= 0:
            raise argparse.ArgumentTypeError(f"must be positive: {value}")
        return number

    return parse


def add_arguments(bench: argparse.ArgumentParser) -> None:
    where = bench.add_argument_group("server (default: start one on the embedded SQLite)")
    where.add_argument("--url", help="bench a running server at this base URL")
    where.add_argument("--secret", help="its HS256 secret (default: ORDERCHAT_JWT_SECRET)")
    where.add_argument("--issuer", help="iss claim of the tokens (default: ORDERCHAT_JWT_ISSUER)")
    where.add_argument("--audience", help="aud claim (default: ORDERCHAT_JWT_AUDIENCE)")
    where.add_argument("--server-pid", type=int, help="PID of that server, to read its CPU/RSS")
    where.add_argument("--database-url", help="database of the started server")
    where.add_argument("--redis-url", help="Redis of the started server")
    where.add_argument(
        "--sender-limit",
        type=_positive(float),
        metavar="N",
        help="per-sender message rate limit of the started server, msg/s, burst 2N "
        "(default: the service's, 10/s); to measure past rooms x 3 x 10 msg/s",
    )
    load = bench.add_argument_group("load")
    load.add_argument("--rooms", type=_positive(int), help="rooms, 3 connections each (200)")
    load.add_argument("--rate", type=_positive(float), help="messages per second, all rooms (2000)")
    load.add_argument("--duration", type=_positive(float), help="measured seconds (60)")
    load.add_argument(
        "--warmup", type=float, help="seconds sent before measuring (default 5; storm: 2)"
    )
    load.add_argument(
        "--drain-timeout",
        type=float,
        default=10.0,
        help="wait this long for the last frames (10 s)",
    )
    idle = bench.add_argument_group("idle connections")
    idle.add_argument(
        "--idle", type=_positive(int), metavar="M", help="hold M idle connections, report memory"
    )
    load.add_argument(
        "--open-rate",
        type=_positive(float),
        default=500.0,
        help="connections opened per second (500)",
    )
    storm = bench.add_argument_group("reconnect storm")
    storm.add_argument(
        "--storm",
        type=_positive(int),
        metavar="N",
        help="hold N connections over --rooms rooms (default N/3) plus a steady sender and "
        "receiver per room, drop the N at once after --warmup s and reconnect them all with "
        "lastSeq; --rate/--duration are the steady senders' (default 100/s for 10 s)",
    )
    storm.add_argument(
        "--storm-kill",
        action="store_true",
        help="start two instances (needs a PostgreSQL --database-url and --redis-url), the N "
        "on one of them, and kill it (SIGKILL) instead of dropping the connections",
    )
    storm.add_argument(
        "--reconnect-spread",
        type=float,
        default=0.0,
        metavar="S",
        help="each reconnect first waits a random 0..S s (default 0: all at once)",
    )
    storm.add_argument(
        "--storm-timeout",
        type=_positive(float),
        default=60.0,
        help="give up reconnecting after this long (60 s)",
    )
    out = bench.add_argument_group("output")
    load.add_argument(
        "--workers",
        type=_positive(int),
        default=1,
        help="load generator processes, rooms split between them (1)",
    )
    out.add_argument("--json", action="store_true", help="print one JSON document")
    out.add_argument("--plot", metavar="FILE.png", help="latency over time + percentile curve")
    out.add_argument("--no-progress", action="store_true", help="no progress bar")


def run(settings: Settings, args: argparse.Namespace) -> int:
    from orderchat.bench import report
    from orderchat.bench.runner import Options
    from orderchat.bench.runner import run as run_bench

    secret = args.secret or (
        settings.jwt_secret.get_secret_value() if settings.jwt_secret else None
    )
    if args.plot:
        from orderchat.bench.plot import require_matplotlib

        require_matplotlib()  # fail before the run, not after it
    storm = args.storm is not None
    if args.rooms is None:
        args.rooms = max(1, -(-args.storm // 3)) if storm else 200
    if args.rate is None:
        args.rate = 100.0 if storm else 2000.0
    if args.duration is None:
        args.duration = 10.0 if storm else 60.0
    if args.warmup is None:
        args.warmup = 2.0 if storm else 5.0
    if args.storm_kill and (not storm or args.url or not args.redis_url or not args.database_url):
        raise SystemExit(
            "orderchat bench: --storm-kill needs --storm, a PostgreSQL --database-url and "
            "--redis-url (two started instances share them)"
        )
    if args.warmup < 0 or args.drain_timeout < 0 or args.reconnect_spread < 0:
        raise SystemExit("orderchat bench: --warmup and --drain-timeout must not be negative")
    if args.sender_limit is not None and args.url is not None:
        raise SystemExit(
            "orderchat bench: --sender-limit sets the server the bench starts; a running "
            "server keeps its own (ORDERCHAT_RATE_PER_SECOND)"
        )
    opts = Options(
        url=args.url,
        secret=secret,
        issuer=args.issuer or settings.jwt_issuer,
        audience=args.audience or settings.jwt_audience,
        database_url=args.database_url,
        redis_url=args.redis_url,
        sender_limit=args.sender_limit,
        server_pid=args.server_pid,
        rooms=args.rooms,
        rate=args.rate,
        duration=args.duration,
        warmup=args.warmup,
        idle=args.idle,
        open_rate=args.open_rate,
        workers=args.workers,
        drain_timeout=args.drain_timeout,
        progress=not args.no_progress,
        storm=args.storm,
        storm_kill=args.storm_kill,
        reconnect_spread=args.reconnect_spread,
        storm_timeout=args.storm_timeout,
    )
    per_sender = args.rate / args.rooms / (1 if storm else 3)
    limit = args.sender_limit or settings.rate_per_second
    if args.idle is None and per_sender > limit:
        print(
            f"orderchat bench: warning: {per_sender:.1f} msg/s per sender is over the server's "
            f"rate limit ({limit:g}/s): expect RATE_LIMITED; add rooms"
            + ("" if args.url else " or raise --sender-limit"),
            file=sys.stderr,
        )
    if storm:
        from orderchat.bench import storm_report
        from orderchat.bench.storm_run import run_storm

        doc = storm_report.build(asyncio.run(run_storm(opts)))
        print(
            orjson.dumps(doc, option=orjson.OPT_INDENT_2).decode()
            if args.json
            else storm_report.text(doc)
        )
        return 0 if doc["integrity"]["ok"] else 1
    outcome = asyncio.run(run_bench(opts))
    doc = report.build(outcome)
    if args.plot:
        from orderchat.bench.plot import plot

        plot(outcome.load, outcome.opened, args.plot)
    if args.json:
        print(orjson.dumps(doc, option=orjson.OPT_INDENT_2).decode())
    else:
        print(report.text(doc))
    return 0 if report.ok(doc) else 1
