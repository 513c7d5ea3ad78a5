"""The demo's printed transcript: one line per thing that happened, time first (UTC)."""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from typing import Any, TextIO

from orderchat.domain.messages import rfc3339_ms, utcnow_ms


class Transcript:
    def __init__(self, out: TextIO = sys.stdout) -> None:
        self.out = out

    @staticmethod
    def now_rfc3339() -> str:
        return rfc3339_ms(utcnow_ms())

    @staticmethod
    def clock(rfc3339: str) -> str:
        """``2026-11-24T05:28:52.123Z`` -> ``05:28:52.123``."""
        return rfc3339.partition("T")[2].removesuffix("Z")

    def _print(self, when: str, who: str, text: str) -> None:
        print(f"{self.clock(when)}  {who:<8}  {text}", file=self.out, flush=True)

    def header(self, url: str, order_id: str, ids: dict[str, str]) -> None:
        day = datetime.now(UTC).date().isoformat()
        print(f"orderchat demo: order {order_id}, server {url}, {day} (UTC)", file=self.out)
        cast = ", ".join(f"{role} {user[:8]}" for role, user in ids.items())
        print(f"cast: {cast}", file=self.out, flush=True)

    def line(self, who: str, text: str) -> None:
        self._print(self.now_rfc3339(), who, text)

    def message(self, message: dict[str, Any]) -> None:
        """A stored message, at its server timestamp: ``#seq  content``."""
        self._print(
            str(message["timestamp"]),
            str(message["senderRole"]),
            f"#{message['seq']}  {message['content']}",
        )

    def refused(self, who: str, text: str, code: str) -> None:
        self._print(self.now_rfc3339(), who, f"REFUSED ({code})  {text}")
