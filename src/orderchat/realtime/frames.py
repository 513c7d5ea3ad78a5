"""The ``/chat`` socket's frames: the parts websockets' sans-I/O layer leaves to its caller.

Hand-written, each small: the server-to-client text frame header (an unmasked frame is
two to ten bytes of header; websockets' ``send_text`` builds a ``Frame`` object and a
list per frame), and client frames: fragment reassembly (the sans-I/O layer leaves it to
its caller), then the queue of frames waiting for the session, handled one at a time, in
order, reading paused while too many wait. The socket itself is ``wire.py``.
"""

from __future__ import annotations

import asyncio
import struct
from collections import deque

from websockets.frames import Frame, Opcode
from websockets.server import ServerProtocol

from orderchat.realtime.local import Connection
from orderchat.realtime.protocol import error_frame
from orderchat.realtime.session import Session

MAX_PENDING_FRAMES = 64  # client frames waiting to be handled before reading pauses


def text_frame(text: str) -> bytes:
    data = text.encode()
    n = len(data)
    if n < 126:
        return bytes((0x81, n)) + data
    if n < 65536:
        return struct.pack("!BBH", 0x81, 126, n) + data
    return struct.pack("!BBQ", 0x81, 127, n) + data


class ClientFrames:
    """Client frames of a ``ChatWire`` (``wire.py``), its base class: each whole data
    frame goes to the connection's session. Its slots are set by ``ChatWire.__init__``."""

    __slots__ = ("_fragments", "_pending", "_task")

    transport: asyncio.Transport | None
    ws: ServerProtocol
    conn: Connection | None
    session: Session | None
    _task: asyncio.Task[None] | None
    _pending: deque[str | bytes] | None
    _fragments: tuple[Opcode, list[bytes]] | None

    def _frame(self, frame: Frame) -> None:
        opcode = frame.opcode
        if opcode is Opcode.TEXT or opcode is Opcode.BINARY:
            if not frame.fin:
                self._fragments = (opcode, [bytes(frame.data)])
                return
            data = bytes(frame.data)
        elif opcode is Opcode.CONT:
            if self._fragments is None:
                return  # websockets refuses a stray continuation itself
            opcode, parts = self._fragments
            parts.append(bytes(frame.data))
            if not frame.fin:
                return
            self._fragments = None
            data = b"".join(parts)
        else:
            return  # ping (websockets answers), pong, close (websockets answers)
        if opcode is Opcode.TEXT:
            try:
                self._received(data.decode())
            except UnicodeDecodeError:
                self.ws.fail(1007, "invalid UTF-8")
        else:
            self._received(data)

    def _received(self, frame: str | bytes) -> None:
        if self._pending is None:
            self._pending = deque()
        self._pending.append(frame)
        if len(self._pending) > MAX_PENDING_FRAMES and self.transport is not None:
            self.transport.pause_reading()
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._handle())

    async def _handle(self) -> None:
        pending, session, conn = self._pending, self.session, self.conn
        assert pending is not None and session is not None and conn is not None
        try:
            while pending:
                frame = pending.popleft()
                if isinstance(frame, str):
                    await session.handle(frame)
                else:
                    conn.outbox.push(error_frame("INVALID_JSON", "frames must be JSON text frames"))
                if len(pending) == MAX_PENDING_FRAMES and self.transport is not None:
                    self.transport.resume_reading()
        finally:
            self._task = None
