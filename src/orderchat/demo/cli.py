"""Arguments of `orderchat demo` and its entry point (placeholder until the demo is built)."""

from __future__ import annotations

import argparse
import sys

from orderchat.config import Settings


def add_arguments(demo: argparse.ArgumentParser) -> None:
    demo.add_argument("--url", help="play against a running server (default: start one)")


def run(settings: Settings, args: argparse.Namespace) -> int:
    print("orderchat: demo is not built yet", file=sys.stderr)
    return 1
