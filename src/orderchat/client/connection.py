"""ChatClient: one participant's connection to one room, kept alive across drops."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator, Callable
from types import TracebackType
from typing import Any

import orjson
from websockets.asyncio.client import ClientConnection
from websockets.exceptions import ConnectionClosed

from orderchat.client.dialer import Dialer, backoff_delay
from orderchat.client.errors import (
    ChatClosed,
    ChatError,
    NotConnected,
    closed_error,
    frame_error,
)

# Closes that reconnecting cannot fix (4401 is retried when the token is a callable).
FINAL_CLOSE_CODES = frozenset({1000, 1008, 1009, 4401, 4403})
RETRYABLE_ERRORS = frozenset({"UNAVAILABLE", "RATE_LIMITED"})
MESSAGE_EVENTS = frozenset({"newMessage", "messageAck"})
Frame = tuple[str, dict[str, Any]]


class _Gap(Exception):
    """A message frame skipped a seq: the server broke SPEC 5.4; resume fills it."""


def message_of(data: dict[str, Any]) -> dict[str, Any]:
    """The message of a ``newMessage`` or ``messageAck`` frame (without ``duplicate``)."""
    return {k: v for k, v in data.items() if k != "duplicate"}


class ChatClient:
    """See the package docstring. ``token`` may be a callable: called for each connection."""

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
        max_attempts: int | None = 8,
        open_timeout: float = 10.0,
    ) -> None:
        self._dialer = Dialer(
            base_url,
            order_id,
            token,
            subprotocol=subprotocol,
            backoff=(backoff_initial, backoff_max),
            max_attempts=max_attempts,
            open_timeout=open_timeout,
        )
        self.order_id = order_id
        self.last_seq = last_seq  # the last message seq delivered to us
        self._ws: ClientConnection | None = None
        self._events: asyncio.Queue[Frame | ChatClosed] = asyncio.Queue()
        # clientMessageId -> (the frame, to re-send after a reconnect; its ack's future)
        self._pending: dict[str, tuple[str, asyncio.Future[dict[str, Any]]]] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._ready = asyncio.Event()
        self._runner: asyncio.Task[None] | None = None
        self._closed: ChatClosed | None = None
        self._by_client: ChatClosed | None = None
        self.connected: dict[str, Any] | None = None  # the last `connected` frame's data
        self.read_only = False  # the room is closed (from `connected`, then `roomClosed`)
        self.reconnects = 0
        self._started = False  # connect() was called: before it, calls raise NotConnected

    # --- lifecycle --------------------------------------------------------------------

    async def __aenter__(self) -> ChatClient:
        await self.connect()
        return self

    async def __aexit__(
        self, *_exc: type[BaseException] | BaseException | TracebackType | None
    ) -> None:
        await self.close()

    async def connect(self) -> dict[str, Any]:
        """Open the connection (retrying what may pass: refused, 429, 5xx) and return the
        ``connected`` data. Raises Unauthorized (401), Forbidden (403), ChatClosed."""
        self._started = True
        ws = await self._establish(first=True)
        assert ws is not None  # the first attempt raises instead of giving up quietly
        self._runner = asyncio.ensure_future(self._run(ws))
        await self._ready.wait()
        if self._closed is not None and self.connected is None:
            raise self._closed
        assert self.connected is not None
        return self.connected

    async def close(self) -> None:
        """Close for good; pending sends fail with ChatClosed(1000); iteration ends."""
        self._by_client = ChatClosed(1000, "closed by client")
        self._finish(self._by_client)
        if self._ws is not None:
            await self._ws.close()
        if self._runner is not None:
            self._runner.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._runner

    async def _establish(self, *, first: bool) -> ClientConnection | None:
        """A new connection; on the first, raise if none; later, finish and return None."""
        try:
            return await self._dialer.dial(self.last_seq, first=first)
        except ChatClosed as failure:
            if first:
                raise
            self._finish(failure)
            return None

    async def _run(self, ws: ClientConnection) -> None:
        try:
            await self._run_forever(ws)
        except asyncio.CancelledError:
            raise
        except Exception as error:  # never leave a caller waiting on a dead client
            self._finish(ChatClosed(None, f"client failed: {error!r}"))

    async def _run_forever(self, ws: ClientConnection) -> None:
        """Read frames; on a retryable drop, reconnect with lastSeq (sends re-sent then)."""
        while True:
            self._ws = ws
            code = await self._read(ws)
            if self._closed is not None:
                return
            self._ready.clear()  # sends wait for the next `connected`
            renewable = code == 4401 and callable(self._dialer.token)
            if code in FINAL_CLOSE_CODES and not renewable:
                self._finish(closed_error(code, "closed by server"))
                return
            again = await self._establish(first=False)
            if again is None:
                return
            self.reconnects += 1
            ws = again

    async def _read(self, ws: ClientConnection) -> int | None:
        try:
            async for raw in ws:
                frame = orjson.loads(raw)
                self._dispatch(ws, frame["event"], frame.get("data") or {})
        except ConnectionClosed:
            pass
        except (orjson.JSONDecodeError, KeyError, TypeError, ValueError, _Gap):
            await ws.close(1002, "unexpected frame")  # start over from lastSeq
            return None
        return ws.close_code

    def _dispatch(self, ws: ClientConnection, event: str, data: dict[str, Any]) -> None:
        if event == "connected":
            self.connected = data
            self.last_seq = int(data["lastSeq"])  # min(asked, room's last): the start
            self.read_only = bool(data["readOnly"])
            self._ready.set()
            for frame, fut in self._pending.values():  # re-send what was not answered
                if not fut.done():
                    task = asyncio.ensure_future(self._resend(ws, frame))
                    self._tasks.add(task)
                    task.add_done_callback(self._tasks.discard)
            return
        if event in MESSAGE_EVENTS:
            seq = int(data["seq"])
            fresh = self.last_seq is None or seq > self.last_seq
            if fresh and self.last_seq is not None and seq != self.last_seq + 1:
                raise _Gap(seq)
            if fresh:
                self.last_seq = seq
            if event == "messageAck":
                entry = self._pending.pop(str(data.get("clientMessageId")), None)
                if entry is not None and not entry[1].done():
                    entry[1].set_result(data)
            if not fresh:
                return  # delivered before (a replay after a reconnect, a duplicate ack)
        elif event == "error" and data.get("clientMessageId") in self._pending:
            _frame, fut = self._pending.pop(str(data["clientMessageId"]))
            if not fut.done():
                fut.set_exception(frame_error(str(data["code"]), str(data.get("message", ""))))
            return
        elif event == "roomClosed":
            self.read_only = True
        self._events.put_nowait((event, data))

    @staticmethod
    async def _resend(ws: ClientConnection, frame: str) -> None:
        with contextlib.suppress(ConnectionClosed):  # re-sent again after the next one
            await ws.send(frame)

    def _finish(self, closed: ChatClosed) -> None:
        if self._closed is None:
            self._closed = closed
            self._events.put_nowait(closed)
        for _frame, fut in self._pending.values():
            if not fut.done():
                fut.set_exception(self._closed)
        self._pending.clear()
        self._ready.set()

    # --- what a caller does -------------------------------------------------------------

    async def send(
        self, message: str, client_message_id: str | None = None, *, attempts: int = 5
    ) -> dict[str, Any]:
        """Send one message; return its ack (the stored message plus ``duplicate``).

        A drop before the ack re-sends it after the reconnect, and UNAVAILABLE or
        RATE_LIMITED are retried with backoff, always with the same ``clientMessageId``,
        so the message is stored once. Raises RoomReadOnly, ChatError, ChatClosed.
        """
        self._require_started()
        cmid = client_message_id or uuid.uuid4().hex
        frame = orjson.dumps(
            {"event": "sendMessage", "data": {"message": message, "clientMessageId": cmid}}
        ).decode()
        for attempt in range(1, attempts + 1):
            if self._closed is None:
                await self._ready.wait()
            if self._closed is not None:
                raise self._closed
            fut: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
            self._pending[cmid] = (frame, fut)
            try:
                with contextlib.suppress(ConnectionClosed):  # re-sent after the reconnect
                    assert self._ws is not None
                    await self._ws.send(frame)
                return await fut
            except ChatError as err:
                if err.code not in RETRYABLE_ERRORS or attempt == attempts:
                    raise
            finally:
                entry = self._pending.get(cmid)
                if entry is not None and entry[1] is fut:
                    del self._pending[cmid]  # cancelled: nobody waits for this ack
            await asyncio.sleep(backoff_delay(attempt, *self._dialer.backoff))
        raise AssertionError("unreachable")

    def _require_started(self) -> None:
        if not self._started:
            raise NotConnected()

    async def _send_frame(self, event: str, data: dict[str, Any]) -> None:
        self._require_started()
        if self._closed is None:
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
        self._dialer.token = token
        await self._send_frame("authenticate", {"token": token})

    async def next(self, wait: float | None = None) -> Frame:
        """The next frame (messages in seq order, each once; not `connected`, not the
        answers to sends that failed). At the end: the ChatClosed that ended it.
        Raises TimeoutError after ``wait`` seconds without a frame (the client stays
        usable), NotConnected before ``connect()``."""
        self._require_started()
        item = await asyncio.wait_for(self._events.get(), wait)
        if isinstance(item, ChatClosed):
            self._events.put_nowait(item)  # every later call ends the same way
            raise item
        return item

    async def __aiter__(self) -> AsyncIterator[Frame]:
        """Every frame as ``(event, data)``; ends after ``close()``, raises the ChatClosed
        (Unauthorized, Forbidden...) when the server or the network ended it."""
        while True:
            try:
                frame = await self.next()
            except ChatClosed as closed:
                if closed is self._by_client:
                    return
                raise
            yield frame

    async def messages(self) -> AsyncIterator[dict[str, Any]]:
        """The room's messages in seq order, each once, the others' and our own acked ones
        alike, across reconnects. Ends or raises like iterating the client."""
        async for event, data in self:
            if event in MESSAGE_EVENTS:
                yield message_of(data)
