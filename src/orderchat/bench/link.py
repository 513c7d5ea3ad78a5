"""The bench's WebSocket client side of one connection.

The client is picows (Cython): each connection is a :class:`Link`, a listener whose
``on_ws_frame`` callback parses and records every frame as it arrives, with no reader
task per connection; the bench's CPU goes to the load, not to the client. A
:class:`Conn` is one participant's connection of a room (``rooms.py`` opens them).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

try:
    from picows import WSCloseCode, WSFrame, WSListener, WSMsgType, WSTransport
except ImportError as missing:  # an install without the extra
    raise ImportError("orderchat bench needs picows: pip install 'orderchat[bench]'") from missing

from orderchat.bench.integrity import SeqTracker

if TYPE_CHECKING:
    from orderchat.bench.rooms import Room

CLOSE_TIMEOUT_SECONDS = 10.0  # the server's answer to our close frame, then we drop it

# What a connection does with each data frame: (its Conn, the payload, monotonic arrival
# time). The payload is only valid during the call (a view of picows' read buffer).
Receiver = Callable[["Conn", memoryview | bytes, float], None]


class Link(WSListener):
    """The picows listener of one bench connection.

    Until a receiver is attached (:meth:`attach`), the first data frame resolves
    ``first`` (the ``connected`` frame of the handshake) and later ones are kept with
    their arrival time; attaching replays them. Fragmented messages are reassembled;
    a close frame from the server is answered and the socket dropped. ``lost`` is set
    when the connection ends without the bench closing it. While the socket's write
    buffer is above its high-water mark, ``writable`` is a pending future."""

    def __init__(self, conn: Conn) -> None:
        super().__init__()
        self.conn = conn
        self.transport: WSTransport | None = None
        self.first: asyncio.Future[bytes] = asyncio.get_running_loop().create_future()
        self.receiver: Receiver | None = None
        self.early: list[tuple[bytes, float]] = []
        self.partial: bytearray | None = None  # a fragmented message so far
        self.writable: asyncio.Future[None] | None = None
        self.closing = False  # the bench is closing this connection itself
        self.lost = False  # ended without the bench closing it

    def on_ws_connected(self, transport: WSTransport) -> None:
        self.transport = transport

    def on_ws_frame(self, transport: WSTransport, frame: WSFrame) -> None:
        kind = frame.msg_type
        if kind is WSMsgType.TEXT or kind is WSMsgType.BINARY:
            if frame.fin:
                self._message(frame.get_payload_as_memoryview())
            else:
                self.partial = bytearray(frame.get_payload_as_memoryview())
        elif kind is WSMsgType.CONTINUATION:
            if self.partial is not None:
                self.partial += frame.get_payload_as_memoryview()
                if frame.fin:
                    whole, self.partial = self.partial, None
                    self._message(memoryview(whole))
        elif kind is WSMsgType.CLOSE:
            if not transport.is_close_frame_sent:
                transport.send_close(frame.get_close_code(), frame.get_close_message())
            transport.disconnect()

    def _message(self, payload: memoryview) -> None:
        now = time.monotonic()
        receiver = self.receiver
        if receiver is not None:
            receiver(self.conn, payload, now)
        elif not self.first.done():
            self.first.set_result(bytes(payload))
        else:
            self.early.append((bytes(payload), now))

    def on_ws_disconnected(self, transport: WSTransport) -> None:
        self.lost = not self.closing
        if not self.first.done():
            self.first.set_exception(ConnectionResetError("closed before the connected frame"))
        self._wake_writers()

    def pause_writing(self) -> None:
        if self.writable is None:
            self.writable = asyncio.get_running_loop().create_future()

    def resume_writing(self) -> None:
        self._wake_writers()

    def _wake_writers(self) -> None:
        writable, self.writable = self.writable, None
        if writable is not None and not writable.done():
            writable.set_result(None)

    def attach(self, receiver: Receiver) -> None:
        """Hand every data frame to ``receiver`` from now on, the kept ones first."""
        early, self.early = self.early, []
        for payload, arrived in early:
            receiver(self.conn, payload, arrived)
        self.receiver = receiver

    def send_text(self, payload: bytes) -> bool:
        """Queue one text frame; False when the connection is gone or closing (picows
        would drop a frame sent after the close frame)."""
        transport = self.transport
        if (
            self.lost
            or transport is None
            or transport.is_close_frame_sent
            or transport.is_disconnected
        ):
            return False
        transport.send(WSMsgType.TEXT, payload)
        return True

    async def close(self) -> None:
        """Close handshake (code 1000), then drop the socket; waits for it to end."""
        transport = self.transport
        self.closing = True
        if transport is None:
            return
        if not transport.is_disconnected:
            if not transport.is_close_frame_sent:
                transport.send_close(WSCloseCode.OK)
            try:
                async with asyncio.timeout(CLOSE_TIMEOUT_SECONDS):
                    await transport.wait_disconnected()
                return
            except TimeoutError:
                transport.disconnect(graceful=False)
        await transport.wait_disconnected()


@dataclass(eq=False)
class Conn:
    room: Room
    role: int  # index into ROLES
    ws: Link | None = None  # set once the handshake is done
    tracker: SeqTracker = field(default_factory=SeqTracker)

    @property
    def lost(self) -> bool:
        """Closed by the other side (or the network) before the bench closed it."""
        return self.ws is not None and self.ws.lost
