"""The ``/chat`` socket: WebSocket handshake and frames over one asyncio transport.

uvicorn parses the HTTP request and, on ``Upgrade: websocket``, hands the transport to
this protocol (``ws=`` in ``server.py``). websockets' sans-I/O ``ServerProtocol`` does
the RFC 6455 work (handshake validation, frame parsing, masking, control frames, size
limit 1009, the close handshake); what the service does with a connection is
``gateway.py``.

Why not uvicorn's own WebSocket protocol plus an ASGI app: ASGI parks a coroutine (with
its scope, receive queue and frames) per connection and sends every frame through an
awaited ``send`` message. Here an open connection is a few plain objects and no task
while idle, a frame is written straight to the transport, and the outbox's ordering
(``outbox.py``) decides what is written. A client frame is handled by a task only while
there is one to handle; frames are handled one at a time, in order.

Hand-written parts, each small: the server-to-client text frame header and client
frame reassembly and queueing (``frames.py``), and one keepalive sweep for all
connections instead of a timer each (``keepalive.py``).
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from typing import Any, ClassVar, cast

from websockets.frames import Frame, Opcode
from websockets.http11 import Request, Response
from websockets.protocol import OPEN, Protocol
from websockets.server import ServerProtocol
from websockets.typing import Subprotocol

from orderchat.realtime.admission import HandshakeGate
from orderchat.realtime.frames import ClientFrames, text_frame
from orderchat.realtime.gateway import Gateway
from orderchat.realtime.handshake import SUBPROTOCOL, Denied
from orderchat.realtime.keepalive import Keepalive
from orderchat.realtime.local import Connection
from orderchat.realtime.session import Session

log = logging.getLogger("orderchat.realtime")

MAX_FRAME_BYTES = 64 * 1024
CLOSE_GRACE_SECONDS = 5.0  # a close we started: the socket ends by then, answered or not


def _select_subprotocol(
    _protocol: ServerProtocol, offered: Any
) -> Subprotocol | None:  # websockets' hook; ``bearer.<jwt>`` is never echoed back
    return Subprotocol(SUBPROTOCOL) if SUBPROTOCOL in offered else None


class ChatWire(ClientFrames, asyncio.Protocol):
    """One ``/chat`` connection's socket; also the ``Wire`` its outbox writes to. Client
    frames, once parsed, are its base's (``ClientFrames``, ``frames.py``)."""

    gateway: ClassVar[Gateway]
    keepalive: ClassVar[Keepalive]
    gate: ClassVar[HandshakeGate]

    __slots__ = (
        "_abort_timer",
        "conn",
        "last_rx",
        "server_state",
        "session",
        "transport",
        "ws",
    )

    def __init__(self, config: Any, server_state: Any, app_state: Any = None, **_: Any) -> None:
        self.server_state = server_state
        self.transport: asyncio.Transport | None = None
        self.ws = ServerProtocol(select_subprotocol=_select_subprotocol, max_size=MAX_FRAME_BYTES)
        self.conn: Connection | None = None
        self.session: Session | None = None
        self._task: asyncio.Task[None] | None = None  # admission, then frame handling
        self._pending: deque[str | bytes] | None = None
        self._fragments: tuple[Opcode, list[bytes]] | None = None  # a message in parts
        self._abort_timer: asyncio.TimerHandle | None = None
        self.last_rx = 0.0

    # --- asyncio.Protocol ---------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's is not a subclass
        self.server_state.connections.add(self)
        self.last_rx = asyncio.get_running_loop().time()

    def data_received(self, data: bytes) -> None:
        self.last_rx = asyncio.get_running_loop().time()
        ws = self.ws
        ws.receive_data(data)
        for event in ws.events_received():
            if isinstance(event, Frame):
                self._frame(event)
            elif isinstance(event, Request):
                self._upgrade(event)
        self._flush()

    def eof_received(self) -> bool | None:
        self.ws.receive_eof()
        self._flush()
        return None

    def connection_lost(self, exc: Exception | None) -> None:
        self.server_state.connections.discard(self)
        self.keepalive.conns.discard(self)
        if self._abort_timer is not None:
            self._abort_timer.cancel()
        conn, session = self.conn, self.session
        if conn is not None and session is not None:
            rcvd = self.ws.close_rcvd
            self.gateway.closed(conn, session, rcvd.code if rcvd is not None else None)

    def pause_writing(self) -> None:
        if self.conn is not None:
            self.conn.outbox.pause()

    def resume_writing(self) -> None:
        if self.conn is not None:
            self.conn.outbox.resume()

    def shutdown(self) -> None:
        """uvicorn's shutdown (after the hub's drain closed every open connection)."""
        if self.conn is not None:
            self.conn.outbox.close(1001, "server shutting down")
        elif self.transport is not None and self._task is None:
            self.transport.close()

    # --- the upgrade --------------------------------------------------------------------

    def _upgrade(self, request: Request) -> None:
        ws = self.ws
        path, _, query = request.path.partition("?")
        if path != "/chat":
            self._respond(ws.reject(404, "Not Found"))
            return
        response = ws.accept(request)  # validates the upgrade itself (400, 426)
        if response.status_code != 101:
            self._respond(response)
            return
        if not ws.reader.buffer:
            # ServerProtocol.parse() keeps the parsed request in its generator frame for
            # the life of the connection (~2.4 KiB of header objects per idle connection,
            # tracemalloc); past the request it only delegates to Protocol.parse(). With
            # nothing buffered after the request, restart it as that frame parser.
            ws.parser = Protocol.parse(ws)
            next(ws.parser)
        headers = [
            (k.lower().encode("latin-1"), v.encode("latin-1"))
            for k, v in request.headers.raw_items()
        ]
        offered = [
            p.strip()
            for v in request.headers.get_all("Sec-WebSocket-Protocol")
            for p in v.split(",")
        ]
        scope = {
            "type": "websocket",
            "path": path,
            "query_string": query.encode("latin-1"),
            "headers": headers,
            "subprotocols": offered,
        }
        loop = asyncio.get_running_loop()
        self._task = loop.create_task(self._open(scope, response))

    def _respond(self, response: Response) -> None:
        self.ws.send_response(response)
        self._flush()

    async def _open(self, scope: dict[str, Any], response: Response) -> None:
        gateway, gate = self.gateway, self.gate
        conn: Connection | None = None
        try:
            if gate.full():
                raise Denied(503, "shed", "too many upgrades at once; retry")
            async with gate.turn():
                adm = await gateway.admit(scope)
                conn = gateway.join(adm, self)
                view = await gateway.attach(conn, adm)
        except Denied as denied:
            self._task = None
            gateway.denied(denied)
            refusal = self.ws.reject(denied.status, denied.reason)
            if denied.status == 503:  # shed, database down, shutting down: come back later
                refusal.headers["Retry-After"] = str(gate.retry_after)
            self._respond(refusal)
            return
        except Exception:
            log.exception("ws upgrade failed")
            self._task = None
            if conn is not None:
                gateway.gone(conn)
            self._respond(self.ws.reject(500, "internal error"))
            return
        self._task = None
        if self.transport is None or self.transport.is_closing():
            gateway.gone(conn)
            return
        self._respond(response)
        self.conn = conn
        self.session = gateway.open(conn, view, adm)
        self.keepalive.add(self)
        if self._pending:
            self._task = asyncio.get_running_loop().create_task(self._handle())

    # --- writing (the outbox's Wire) ------------------------------------------------------

    def send_text(self, text: str) -> None:
        if self.ws.state is OPEN and self.transport is not None:
            self.transport.write(text_frame(text))

    def send_close(self, code: int, reason: str) -> None:
        if self.ws.state is OPEN:
            self.ws.send_close(code, reason)
            self._flush()

    def closing(self) -> None:
        if self._abort_timer is None and self.transport is not None:
            loop = asyncio.get_running_loop()
            self._abort_timer = loop.call_later(CLOSE_GRACE_SECONDS, self.transport.abort)

    def ping(self) -> None:
        if self.ws.state is OPEN:
            self.ws.send_ping(b"")
            self._flush()

    def drop_silent(self) -> None:
        """No byte from the client for the keepalive timeout: close without waiting."""
        self.keepalive.conns.discard(self)
        if self.conn is not None and self.conn.outbox.closing is None:
            self.conn.outbox.close(1011, "keepalive ping timeout")
        if self.transport is not None:
            self.transport.abort()

    def _flush(self) -> None:
        transport = self.transport
        if transport is None:
            return
        for data in self.ws.data_to_send():
            if data:
                transport.write(data)
            else:  # end of stream: the close handshake is over, or the upgrade refused
                transport.close()


def protocol_for(
    gateway: Gateway, interval: float, timeout: float, gate: HandshakeGate | None = None
) -> type[ChatWire]:
    """The protocol class uvicorn instantiates per upgrade (``uvicorn.Config(ws=...)``)."""

    class Bound(ChatWire):
        __slots__ = ()

    Bound.gateway = gateway
    Bound.keepalive = Keepalive(interval, timeout)
    Bound.gate = gate or HandshakeGate(32, 512, 1)
    return Bound
