"""Arguments of `orderchat demo` and its entry point."""

from __future__ import annotations

import argparse
import asyncio
import sys
from contextlib import AbstractAsyncContextManager, nullcontext

import httpx

from orderchat.client import ClientError
from orderchat.config import Settings, hs256_secret
from orderchat.demo.embedded import Target, embedded_server
from orderchat.demo.play import Story, StoryError
from orderchat.demo.transcript import Transcript


def add_arguments(demo: argparse.ArgumentParser) -> None:
    demo.add_argument(
        "--url", help="play against a running server at this base URL (default: start one)"
    )
    demo.add_argument(
        "--secret",
        help="with --url: its HS256 secret (default: ORDERCHAT_JWT_SECRET, else the secret "
        "generated in ORDERCHAT_DATA_DIR)",
    )
    demo.add_argument(
        "--pace", type=float, default=0.4, help="seconds between messages (default 0.4)"
    )


def run(settings: Settings, args: argparse.Namespace) -> int:
    target: AbstractAsyncContextManager[Target]
    if args.url:
        secret = args.secret or hs256_secret(settings, create=False)
        if not secret:
            print(
                "orderchat: demo --url needs the server's secret: --secret or ORDERCHAT_JWT_SECRET",
                file=sys.stderr,
            )
            return 2
        url = args.url.rstrip("/")
        target = nullcontext(Target(url, secret, settings.jwt_issuer, settings.jwt_audience))
    else:
        target = embedded_server()
    try:
        return asyncio.run(_play(target, max(args.pace, 0.0)))
    except KeyboardInterrupt:
        print("orderchat: demo interrupted", file=sys.stderr)
        return 130


async def _play(target: AbstractAsyncContextManager[Target], pace: float) -> int:
    try:
        async with target as where:
            await Story(where, Transcript(), pace).play()
    except (StoryError, ClientError, httpx.HTTPError) as err:
        print(f"orderchat: demo failed: {err}", file=sys.stderr)
        return 1
    return 0
