"""A hub's local view of a room: its connections here, and how a room change reaches them."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

from orderchat.identity import Principal
from orderchat.realtime.outbox import Outbox
from orderchat.realtime.protocol import encode


@dataclass(eq=False, slots=True)  # one per connection: no __dict__
class Connection:
    id: int
    order_id: uuid.UUID
    principal: Principal
    outbox: Outbox
    revoked: bool = False
    knows_closed: bool = False  # told by `connected` (readOnly) or by `roomClosed`

    @property
    def user_id(self) -> str:
        return self.principal.user_id

    @property
    def role(self) -> str:
        return self.principal.role


@dataclass(eq=False)
class LocalRoom:
    order_id: uuid.UUID
    conns: set[Connection] = field(default_factory=set)
    inflight: int = 0  # sends to this room being stored by this instance right now
    closed: bool = False


def push_all(room: LocalRoom, frame: str) -> None:
    for conn in room.conns:
        conn.outbox.push(frame)


def apply_changes(room: LocalRoom, change: dict[str, Any]) -> None:
    """A room change (as published on the fan-out): ``j`` joined and ``l`` left
    ``[userId, role]`` pairs, ``c`` the closed reason and ``at`` when it was closed.

    Participants who left have their connections closed with 4403 (access revoked)."""
    for uid, role in change.get("j", []):
        push_all(room, encode("participantJoined", {"userId": uid, "role": role}))
    for uid, role in change.get("l", []):
        for conn in room.conns:
            if conn.user_id == uid and conn.role == role:
                conn.revoked = True
                conn.outbox.close(4403, "access revoked")
        push_all(room, encode("participantLeft", {"userId": uid, "role": role}))
    if change.get("c"):
        room.closed = True
        data = {"orderId": str(room.order_id), "reason": change["c"], "closedAt": change.get("at")}
        frame = encode("roomClosed", data)
        for conn in room.conns:
            if not conn.knows_closed:
                conn.knows_closed = True
                conn.outbox.push(frame)
