"""A small Python client of the WebSocket protocol (SPEC 5 and 7), on ``websockets``.

    async with ChatClient("ws://127.0.0.1:8000", order_id, token) as chat:
        ack = await chat.send("hello")          # retried with the same clientMessageId
        async for event, data in chat:          # newMessage, roomClosed, typing, read...
            ...

- The token goes in ``Authorization: Bearer`` (or, with ``subprotocol=True``, in the
  ``orderchat.v1, bearer.<jwt>`` pair browsers use); ``token`` may be a callable so each
  (re)connection gets a fresh one.
- When the connection drops (network, 1001 server shutdown, 1011/1012/1013), it
  reconnects with exponential backoff and ``?lastSeq=<last delivered>``, so iteration
  continues with no gap and no duplicate; sends in flight are re-sent with their
  ``clientMessageId`` (the server answers a repeat with the original, ``duplicate: true``).
- Closes that retrying cannot fix (4401 token expired, 4403 access revoked, 1008, 1009)
  end the iteration and fail pending sends with ``ChatClosed``.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import uuid
from collections.abc import AsyncIterator, Callable
from types import TracebackType
from typing import Any

import orjson
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.typing import Subprotocol

FINAL_CLOSE_CODES = frozenset({1000, 1008, 1009, 4401, 4403})
RETRYABLE_ERRORS = frozenset({"UNAVAILABLE", "RATE_LIMITED"})
Frame = tuple[str, dict[str, Any]]


class ChatError(Exception):
    """The server refused a frame (the ``error`` frame's code)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code


class ChatClosed(Exception):
    """The connection ended for good (close code, or handshake HTTP status)."""

    def __init__(self, code: int | None, reason: str = "") -> None:
        super().__init__(f"closed: {code} {reason}".strip())
        self.code = code


class ChatClient:
    def __init__(
        self,
        base_url: str,
        order_id: str,
        token: str | Callable[[], str],
        *,
        subprotocol: bool = False,
        last_seq: int | None = None,
        backoff_initial: float = 0.2,
        backoff_max: float = 10.0,
        max_attempts: int = 8,
    ) -> None:
        self._base = base_url.rstrip("/")
        self.order_id = order_id
        self._token = token
        self._subprotocol = subprotocol
        self.last_seq = last_seq  # the last message seq delivered to us
        self._backoff = (backoff_initial, backoff_max)
        self._max_attempts = max_attempts
        self._ws: ClientConnection | None = None
        self._events: asyncio.Queue[Frame | ChatClosed] = asyncio.Queue()
        # clientMessageId -> (the frame, to re-send after a reconnect; its ack's future)
        self._pending: dict[str, tuple[str, asyncio.Future[dict[str, Any]]]] = {}
        self._ready = asyncio.Event()
        self._runner: asyncio.Task[None] | None = None
        self._closed: ChatClosed | None = None
        self.connected: dict[str, Any] | None = None  # the last `connected` frame
        self.reconnects = 0

    # --- lifecycle --------------------------------------------------------------------

    async def __aenter__(self) -> ChatClient:
        await self.connect()
        return self

    async def __aexit__(
        self, *_exc: type[BaseException] | BaseException | TracebackType | None
    ) -> None:
        await self.close()

    async def connect(self) -> dict[str, Any]:
        """Open the first connection; raises ChatClosed with the HTTP status if refused."""
        ws = await self._open()
        self._runner = asyncio.ensure_future(self._run(ws))
        await self._ready.wait()
        if self._closed is not None and self.connected is None:
            raise self._closed
        assert self.connected is not None
        return self.connected

    async def close(self) -> None:
        self._finish(ChatClosed(1000, "closed by client"))
        if self._ws is not None:
            await self._ws.close()
        if self._runner is not None:
            self._runner.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._runner

    def _url(self) -> str:
        url = f"{self._base}/chat?orderId={self.order_id}"
        return url if self.last_seq is None else f"{url}&lastSeq={self.last_seq}"

    async def _open(self) -> ClientConnection:
        token = self._token() if callable(self._token) else self._token
        headers: dict[str, str] = {}
        protocols: list[Subprotocol] | None = None
        if self._subprotocol:
            protocols = [Subprotocol("orderchat.v1"), Subprotocol(f"bearer.{token}")]
        else:
            headers["Authorization"] = f"Bearer {token}"
        try:
            return await connect(
                self._url(),
                additional_headers=headers,
                subprotocols=protocols,
                proxy=None,
                compression=None,
                max_size=None,
            )
        except InvalidStatus as err:
            raise ChatClosed(err.response.status_code, "handshake refused") from None

    async def _run(self, ws: ClientConnection) -> None:
        try:
            await self._run_forever(ws)
        except asyncio.CancelledError:
            raise
        except Exception as error:  # never leave a caller waiting on a dead client
            self._finish(ChatClosed(None, f"client failed: {error!r}"))

    async def _run_forever(self, ws: ClientConnection) -> None:
        """Read frames; on a retryable drop, reconnect with lastSeq and re-send."""
        attempt = 0
        while True:
            self._ws = ws
            code = await self._read(ws)
            self._ready.clear()
            if self._closed is not None or code in FINAL_CLOSE_CODES:
                self._finish(ChatClosed(code, "closed by server"))
                return
            while True:
                attempt += 1
                if attempt > self._max_attempts:
                    self._finish(ChatClosed(code, "gave up reconnecting"))
                    return
                low, high = self._backoff
                delay = min(high, low * 2 ** (attempt - 1))
                await asyncio.sleep(delay * random.uniform(0.5, 1.0))
                try:
                    ws = await self._open()
                except ChatClosed as refused:
                    if refused.code in (400, 401, 403):
                        self._finish(refused)
                        return
                    continue
                except OSError:
                    continue
                self.reconnects += 1
                attempt = 0
                break

    async def _read(self, ws: ClientConnection) -> int | None:
        try:
            async for raw in ws:
                frame = orjson.loads(raw)
                self._dispatch(ws, frame["event"], frame.get("data") or {})
        except ConnectionClosed:
            pass
        except (orjson.JSONDecodeError, KeyError, TypeError, ValueError):
            await ws.close(1002, "unexpected frame")  # not our server: start over
            return None
        return ws.close_code

    def _dispatch(self, ws: ClientConnection, event: str, data: dict[str, Any]) -> None:
        if event == "connected":
            self.connected = data
            if self.last_seq is None:
                self.last_seq = int(data["lastSeq"])
            self._ready.set()
            for frame, fut in self._pending.values():  # re-send what was not answered
                if not fut.done():
                    task = asyncio.ensure_future(ws.send(frame))
                    task.add_done_callback(lambda t: t.cancelled() or t.exception())
            return
        if event in ("newMessage", "messageAck"):
            seq = int(data["seq"])
            if self.last_seq is None or seq > self.last_seq:
                self.last_seq = seq
            elif event == "newMessage":
                return  # already delivered before a reconnect
        if event == "messageAck":
            entry = self._pending.pop(str(data.get("clientMessageId")), None)
            if entry is not None and not entry[1].done():
                entry[1].set_result(data)
            return
        if event == "error" and data.get("clientMessageId") in self._pending:
            _frame, fut = self._pending.pop(str(data["clientMessageId"]))
            if not fut.done():
                fut.set_exception(ChatError(str(data["code"]), str(data.get("message", ""))))
            return
        self._events.put_nowait((event, data))

    def _finish(self, closed: ChatClosed) -> None:
        if self._closed is None:
            self._closed = closed
            self._events.put_nowait(closed)
        for _frame, fut in self._pending.values():
            if not fut.done():
                fut.set_exception(closed)
        self._pending.clear()
        self._ready.set()

    # --- what a caller does -------------------------------------------------------------

    async def send(
        self, message: str, client_message_id: str | None = None, *, attempts: int = 5
    ) -> dict[str, Any]:
        """Send one message; return its ack. Retries UNAVAILABLE/RATE_LIMITED and drops
        with the same clientMessageId, so the message is stored at most once."""
        cmid = client_message_id or uuid.uuid4().hex
        frame = orjson.dumps(
            {"event": "sendMessage", "data": {"message": message, "clientMessageId": cmid}}
        ).decode()
        for attempt in range(attempts):
            if self._closed is not None:
                raise self._closed
            await self._ready.wait()
            if self._closed is not None:
                raise self._closed
            fut: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
            self._pending[cmid] = (frame, fut)
            with contextlib.suppress(ConnectionClosed):  # re-sent after the reconnect
                assert self._ws is not None
                await self._ws.send(frame)
            try:
                return await fut
            except ChatError as err:
                if err.code not in RETRYABLE_ERRORS or attempt == attempts - 1:
                    raise
                await asyncio.sleep(min(self._backoff[1], self._backoff[0] * 2**attempt))
        raise AssertionError("unreachable")

    async def _send_frame(self, event: str, data: dict[str, Any]) -> None:
        await self._ready.wait()
        if self._closed is not None:
            raise self._closed
        assert self._ws is not None
        await self._ws.send(orjson.dumps({"event": event, "data": data}).decode())

    async def mark_read(self, seq: int) -> None:
        await self._send_frame("markRead", {"seq": seq})

    async def typing(self) -> None:
        await self._send_frame("typing", {})

    async def ping(self) -> None:
        await self._send_frame("ping", {})

    async def authenticate(self, token: str) -> None:
        """Extend the connection past the current token's expiry (same user)."""
        self._token = token
        await self._send_frame("authenticate", {"token": token})

    async def next(self, wait: float | None = None) -> Frame:
        """The next frame that is not an answer to a send; ChatClosed at the end."""
        item = await asyncio.wait_for(self._events.get(), wait)
        if isinstance(item, ChatClosed):
            self._events.put_nowait(item)
            raise item
        return item

    async def __aiter__(self) -> AsyncIterator[Frame]:
        while True:
            try:
                yield await self.next()
            except ChatClosed:
                return
