"""A Python client of the WebSocket protocol (SPEC 5 and 7), on ``websockets``.

    from orderchat.client import ChatClient, RoomReadOnly

    async with ChatClient("ws://127.0.0.1:8000", order_id, token) as chat:
        ack = await chat.send("hello")          # retried with the same clientMessageId
        async for message in chat.messages():   # the room's messages, in seq order, once
            ...

- The token goes in ``Authorization: Bearer`` (or, with ``subprotocol=True``, in the
  ``orderchat.v1, bearer.<jwt>`` pair browsers use); ``token`` may be a callable so each
  (re)connection gets a fresh one (then a 4401 close reconnects with a new token too).
- When the connection drops (network, 1001 server shutdown, 1011/1012/1013), it
  reconnects with exponential backoff and jitter and ``?lastSeq=<last delivered>``, so
  iteration continues with no gap and no duplicate; sends in flight are re-sent with their
  ``clientMessageId`` (the server answers a repeat with the original, ``duplicate: true``),
  so each ``send`` returns one ack and the message is stored once.
- ``messages()`` yields message dicts (others' and our own acked ones); iterating the
  client itself yields every frame as ``(event, data)``: ``newMessage``, ``messageAck``,
  ``roomClosed``, ``participantJoined``, ``typing``, ``read``... Use one or the other.
- Exceptions (one root, ``ClientError``): ``Unauthorized`` (401/4401), ``Forbidden``
  (403/4403) and other ``ChatClosed`` end the connection for good; ``RoomReadOnly``,
  ``SendForbidden`` and other ``ChatError`` are refusals of one frame. See docs/client.md.
"""

from orderchat.client.connection import ChatClient, Frame
from orderchat.client.dialer import backoff_delay
from orderchat.client.errors import (
    ChatClosed,
    ChatError,
    ClientError,
    Forbidden,
    NotConnected,
    RoomReadOnly,
    SendForbidden,
    Unauthorized,
)

__all__ = [
    "ChatClient",
    "ChatClosed",
    "ChatError",
    "ClientError",
    "Forbidden",
    "Frame",
    "NotConnected",
    "RoomReadOnly",
    "SendForbidden",
    "Unauthorized",
    "backoff_delay",
]
