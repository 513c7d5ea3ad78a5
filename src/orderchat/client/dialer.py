"""Opening a room's WebSocket: the URL (with ``lastSeq``), the token, handshake refusals as
the client's exceptions, and retries with exponential backoff and jitter."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable
from itertools import count

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import InvalidHandshake, InvalidStatus
from websockets.typing import Subprotocol

from orderchat.client.errors import ChatClosed, closed_error

# Handshake statuses that retrying cannot fix; others (429: the server still holds the
# dropped connection; 5xx: shutting down, database down) are retried.
FINAL_STATUSES = frozenset({400, 401, 403, 404})


def backoff_delay(attempt: int, initial: float, maximum: float) -> float:
    """Exponential backoff with jitter: a random delay in [d/2, d], d = initial * 2^(n-1)
    capped at ``maximum``, so clients dropped together do not come back together.

    Hand-written rather than websockets' own reconnecting ``connect`` iterator because each
    attempt needs a new URL (``lastSeq``) and possibly a fresh token, and a bounded count.
    """
    delay = min(maximum, initial * 2 ** (attempt - 1))
    return random.uniform(delay / 2, delay)


def retry_after_delay(seconds: int) -> float:
    """The wait after a refusal that carried ``Retry-After: seconds`` (a server shedding a
    reconnect storm): a random delay in [s, 2s], so the clients it turned away together
    come back spread over a window as wide as the wait, not all in the same instant."""
    return random.uniform(seconds, 2 * seconds)


class Dialer:
    def __init__(
        self,
        base_url: str,
        order_id: str,
        token: str | Callable[[], str],
        *,
        subprotocol: bool,
        backoff: tuple[float, float],
        max_attempts: int | None,
        open_timeout: float,
    ) -> None:
        base = base_url.rstrip("/")
        if base.startswith(("http://", "https://")):
            base = "ws" + base.removeprefix("http")
        self.base = base
        self.order_id = order_id
        self.token = token  # a callable is called for each connection
        self.subprotocol = subprotocol
        self.backoff = backoff
        self.max_attempts = max_attempts  # None: never give up
        self.open_timeout = open_timeout

    def url(self, last_seq: int | None) -> str:
        url = f"{self.base}/chat?orderId={self.order_id}"
        return url if last_seq is None else f"{url}&lastSeq={last_seq}"

    async def open(self, last_seq: int | None) -> ClientConnection:
        """One attempt; a refused handshake raises Unauthorized, Forbidden or ChatClosed."""
        token = self.token() if callable(self.token) else self.token
        headers: dict[str, str] = {}
        protocols: list[Subprotocol] | None = None
        if self.subprotocol:
            protocols = [Subprotocol("orderchat.v1"), Subprotocol(f"bearer.{token}")]
        else:
            headers["Authorization"] = f"Bearer {token}"
        try:
            return await connect(
                self.url(last_seq),
                additional_headers=headers,
                subprotocols=protocols,
                proxy=None,
                compression=None,
                max_size=None,
                open_timeout=self.open_timeout,
            )
        except InvalidStatus as err:
            refused = closed_error(err.response.status_code, "handshake refused")
            hint = err.response.headers.get("Retry-After", "")
            refused.retry_after = int(hint) if hint.isascii() and hint.isdigit() else None
            raise refused from None

    async def dial(self, last_seq: int | None, *, first: bool) -> ClientConnection:
        """Open a connection, retrying with backoff what may pass (refused, reset, timed out,
        429, 5xx) up to ``max_attempts``; a reconnection (``first=False``) waits before its
        first attempt. Raises the final refusal, or ChatClosed when it gives up."""
        failure = ChatClosed(None, "gave up connecting")
        retry_after: int | None = None  # the last refusal's Retry-After, which wins
        for attempt in count(0 if first else 1):
            if self.max_attempts is not None and attempt > self.max_attempts:
                break
            if attempt:
                await asyncio.sleep(
                    backoff_delay(attempt, *self.backoff)
                    if retry_after is None
                    else retry_after_delay(retry_after)
                )
            retry_after = None
            try:
                return await self.open(last_seq)
            except ChatClosed as refused:
                if refused.code in FINAL_STATUSES:
                    raise
                retry_after = refused.retry_after
                failure = ChatClosed(refused.code, "gave up connecting")
            except (OSError, InvalidHandshake) as err:
                failure = ChatClosed(None, f"gave up connecting: {type(err).__name__}")
        raise failure
