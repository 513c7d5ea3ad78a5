"""uvicorn's sans-I/O WebSocket protocol (``ws="websockets-sansio"``), lighter per connection.

The behaviour is uvicorn's own; only what an idle connection keeps alive changes:

- the receive queue and the ``writable`` flag are the lazy ``LeanQueue``/``LeanEvent``
  (asyncio's allocate ~4 KiB of empty deques per connection up front);
- the parsed upgrade request and the prepared 101 response are dropped once the
  handshake is answered (nothing reads them afterwards; ~2 KiB of header strings).
  websockets' server parser is a generator whose frame holds the request in a local
  variable for the whole connection, so once the request is parsed (and nothing
  follows it yet) the parser is restarted as the plain frame parser it delegates to.
"""

from __future__ import annotations

from typing import Any

from uvicorn._types import ASGISendEvent
from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
from websockets.http11 import Request
from websockets.protocol import Protocol

from orderchat.lean import LeanEvent, LeanQueue


class LeanWebSocketProtocol(WebSocketsSansIOProtocol):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.queue = LeanQueue()  # type: ignore[assignment]
        self.writable = LeanEvent()  # type: ignore[assignment]
        self.writable.set()

    def handle_connect(self, event: Request) -> None:
        super().handle_connect(event)
        del self.request  # only ever assigned; the scope carries what the app needs
        conn = self.conn
        if self.response.status_code == 101 and not conn.reader.buffer and not conn.events:
            # ServerProtocol.parse() now only delegates to Protocol.parse(), waiting for
            # the first frame with nothing read yet: the same parser, minus the request
            conn.parser = Protocol.parse(conn)
            next(conn.parser)

    async def send(self, message: ASGISendEvent) -> None:
        await super().send(message)
        if self.handshake_complete and self.__dict__.get("response") is not None:
            self.response = None  # type: ignore[assignment]
