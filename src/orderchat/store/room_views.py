"""The read side of rooms: a room and its participants as the API and the socket see them
(``RoomView``), one room by id (the handshake's read) and the admin listing with its cursor."""

from __future__ import annotations

import base64
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, NamedTuple

import orjson
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from orderchat.domain.messages import rfc3339_or_none
from orderchat.errors import InvalidPayloadError
from orderchat.store.db import Database
from orderchat.store.schema import chat_participants as P
from orderchat.store.schema import chat_rooms as R


@dataclass(frozen=True, slots=True)
class RoomView:
    order_id: uuid.UUID
    read_only: bool
    closed_reason: str | None
    created_at: datetime
    closed_at: datetime | None
    participants: list[tuple[uuid.UUID, str]]
    last_seq: int

    def has_participant(self, user_id: str, role: str) -> bool:
        return any(str(uid) == user_id and r == role for uid, r in self.participants)

    def to_wire(self) -> dict[str, Any]:
        return {
            "orderId": str(self.order_id),
            "readOnly": self.read_only,
            "closedReason": self.closed_reason,
            "createdAt": rfc3339_or_none(self.created_at),
            "closedAt": rfc3339_or_none(self.closed_at),
            "participants": participants_wire(self.participants),
            "lastSeq": self.last_seq,
        }


def participants_wire(participants: list[tuple[uuid.UUID, str]]) -> list[dict[str, str]]:
    return [{"userId": str(uid), "role": role} for uid, role in participants]


def _active(joined_at: datetime | None, left_at: datetime | None) -> bool:
    return joined_at is not None and left_at is None


_ROLE_ORDER = {"customer": 0, "vendor": 1, "rider": 2}


def _active_in_order(rows: Iterable[Any]) -> list[Any]:
    """The participant rows still in the room: customer, vendor, rider, then by user id."""
    return sorted(
        (r for r in rows if r.role is not None and _active(r.joined_at, r.left_at)),
        key=lambda r: (_ROLE_ORDER.get(r.role, 9), str(r.user_id)),
    )


# A room and its participants (one row per participant; one row of NULLs without any).
_GET_ROOM = (
    sa.select(R, P.c.user_id, P.c.role, P.c.joined_at, P.c.left_at)
    .select_from(R.outerjoin(P, P.c.order_id == R.c.order_id))
    .where(R.c.order_id == sa.bindparam("oid", type_=sa.Uuid()))
)


# The same read as one literal statement, for PostgreSQL through asyncpg directly.
_PG_GET_ROOM = """
SELECT r.order_id, r.created_at, r.closed_reason, r.closed_at, r.last_seq,
       p.user_id, p.role, p.joined_at, p.left_at
FROM chat_rooms r LEFT JOIN chat_participants p ON p.order_id = r.order_id
WHERE r.order_id = $1
"""


class _Row(NamedTuple):
    order_id: uuid.UUID
    created_at: datetime
    closed_reason: str | None
    closed_at: datetime | None
    last_seq: int
    user_id: uuid.UUID | None
    role: str | None
    joined_at: datetime | None
    left_at: datetime | None


def _utc(when: datetime | None) -> datetime | None:
    return when.astimezone(UTC) if when is not None else None


class RoomReads:
    """Reads of rooms; ``RoomStore`` adds the writes."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def get(self, order_id: uuid.UUID) -> RoomView | None:
        # Every WebSocket handshake reads its room, so this is one statement (one round
        # trip, one snapshot of the room and its participants). On PostgreSQL it runs on
        # the asyncpg connection itself, outside a transaction: SQLAlchemy's statement
        # layer was ~40 % of the read's CPU.
        rows: list[Any]
        if self._db.is_sqlite:
            async with self._db.read() as conn:
                rows = list((await conn.execute(_GET_ROOM, {"oid": order_id})).all())
        else:
            async with self._db.pooled_driver() as driver:
                records = await driver.fetch(_PG_GET_ROOM, order_id)
            rows = [
                _Row(
                    r[0],
                    r[1].astimezone(UTC),
                    r[2],
                    _utc(r[3]),
                    r[4],
                    r[5],
                    r[6],
                    _utc(r[7]),
                    _utc(r[8]),
                )
                for r in records
            ]
        if not rows:
            return None
        return _view(rows[0], [(r.user_id, r.role) for r in _active_in_order(rows)])

    async def list(
        self,
        *,
        state: str | None,
        user_id: uuid.UUID | None,
        limit: int,
        cursor: str | None,
    ) -> tuple[list[RoomView], str | None]:
        query = sa.select(R).order_by(R.c.created_at.desc(), R.c.order_id.desc()).limit(limit + 1)
        if state == "open":
            query = query.where(R.c.closed_at.is_(None))
        elif state == "readonly":
            query = query.where(R.c.closed_at.is_not(None))
        if user_id is not None:
            query = query.where(
                R.c.order_id.in_(sa.select(P.c.order_id).where(P.c.user_id == user_id))
            )
        if cursor is not None:
            created, oid = _decode_cursor(cursor)
            query = query.where(
                sa.or_(
                    R.c.created_at < created,
                    sa.and_(R.c.created_at == created, R.c.order_id < oid),
                )
            )
        async with self._db.read() as conn:
            rows = (await conn.execute(query)).all()
            page = rows[:limit]
            parts = await _participants(conn, [r.order_id for r in page])
        views = [_view(r, parts.get(r.order_id, [])) for r in page]
        next_cursor = (
            _encode_cursor(page[-1].created_at, page[-1].order_id) if len(rows) > limit else None
        )
        return views, next_cursor


async def _participants(
    conn: AsyncConnection, order_ids: list[uuid.UUID]
) -> dict[uuid.UUID, list[tuple[uuid.UUID, str]]]:
    if not order_ids:
        return {}
    rows = (
        await conn.execute(
            sa.select(P.c.order_id, P.c.user_id, P.c.role, P.c.joined_at, P.c.left_at).where(
                P.c.order_id.in_(order_ids)
            )
        )
    ).all()
    out: dict[uuid.UUID, list[tuple[uuid.UUID, str]]] = {}
    for r in _active_in_order(rows):
        out.setdefault(r.order_id, []).append((r.user_id, r.role))
    return out


def _view(room: Any, participants: list[tuple[uuid.UUID, str]]) -> RoomView:
    return RoomView(
        order_id=room.order_id,
        read_only=room.closed_at is not None,
        closed_reason=room.closed_reason,
        created_at=room.created_at,
        closed_at=room.closed_at,
        participants=participants,
        last_seq=int(room.last_seq),
    )


def _encode_cursor(created_at: datetime, order_id: uuid.UUID) -> str:
    raw = orjson.dumps([created_at.isoformat(), str(order_id)])
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_cursor(cursor: str) -> tuple[datetime, uuid.UUID]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        created, oid = orjson.loads(raw)
        return datetime.fromisoformat(created), uuid.UUID(oid)
    except (ValueError, TypeError, orjson.JSONDecodeError):
        raise InvalidPayloadError("cursor: not a cursor this service issued") from None
