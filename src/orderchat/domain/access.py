"""Who may read a room (SPEC 3): its active participants, in their role, and admins."""

from __future__ import annotations

from orderchat.identity import PARTICIPANT_ROLES, Principal
from orderchat.store.rooms import RoomView


def is_participant(principal: Principal, room: RoomView | None) -> bool:
    return (
        room is not None
        and principal.role in PARTICIPANT_ROLES
        and room.has_participant(principal.user_id, principal.role)
    )


def can_read(principal: Principal, room: RoomView | None) -> bool:
    return principal.is_admin or is_participant(principal, room)
