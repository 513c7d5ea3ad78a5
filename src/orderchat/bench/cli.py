"""Arguments of `orderchat bench` and the call into the runner."""

from __future__ import annotations

import argparse
import asyncio

import orjson

from orderchat.config import Settings


def add_arguments(bench: argparse.ArgumentParser) -> None:
    bench.add_argument("--url", help="bench a running server (default: start one on SQLite)")
    bench.add_argument("--secret", help="its HS256 secret (default: ORDERCHAT_JWT_SECRET)")
    bench.add_argument("--rooms", type=int, default=50, help="rooms, two clients each")
    bench.add_argument("--messages", type=int, default=20, help="messages per room")
    bench.add_argument("--database-url", help="database of the started server")
    bench.add_argument("--redis-url", help="Redis of the started server")
    bench.add_argument(
        "--clients", type=int, default=1, help="client processes generating the load"
    )


def run(settings: Settings, args: argparse.Namespace) -> int:
    from orderchat.bench.runner import Options
    from orderchat.bench.runner import run as run_bench

    secret = args.secret or (
        settings.jwt_secret.get_secret_value() if settings.jwt_secret else None
    )
    opts = Options(
        url=args.url,
        secret=secret,
        rooms=args.rooms,
        messages=args.messages,
        database_url=args.database_url,
        redis_url=args.redis_url,
        clients=args.clients,
    )
    print(orjson.dumps(asyncio.run(run_bench(opts)), option=orjson.OPT_INDENT_2).decode())
    return 0
