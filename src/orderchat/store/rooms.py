"""Rooms and participants: where an order event is applied and where a room is closed."""

from __future__ import annotations

import base64
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, NamedTuple

import orjson
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from orderchat.domain import rooms as domain
from orderchat.domain.events import OrderEvent
from orderchat.domain.messages import rfc3339_or_none
from orderchat.errors import InvalidEventError, InvalidPayloadError
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


@dataclass(frozen=True, slots=True)
class Applied:
    changed: bool
    changes: domain.RoomChanges
    closed_at: datetime | None


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


class RoomStore:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def apply_event(self, event: OrderEvent, now: datetime) -> Applied:
        """Apply one order event in one transaction; the room row is locked while it runs."""
        async with self._db.write() as conn:
            insert = postgresql.insert(R) if not self._db.is_sqlite else sqlite.insert(R)
            await conn.execute(
                insert.values(
                    order_id=event.order_id, created_at=now, last_seq=0
                ).on_conflict_do_nothing(index_elements=["order_id"])
            )
            room = (
                await conn.execute(
                    sa.select(R.c.closed_reason)
                    .where(R.c.order_id == event.order_id)
                    .with_for_update()
                )
            ).one()
            before = await self._load_state(conn, event.order_id, room.closed_reason)
            _check_no_conflict(before, event)
            after = domain.apply(before, event)
            if after == before:
                return Applied(False, domain.diff(before, after), None)
            await self._write_changes(conn, before, after, now)
            changes = domain.diff(before, after)
            return Applied(True, changes, now if changes.closed else None)

    async def _load_state(
        self, conn: AsyncConnection, order_id: uuid.UUID, closed_reason: str | None
    ) -> domain.RoomState:
        rows = (
            await conn.execute(
                sa.select(P.c.user_id, P.c.role, P.c.joined_at, P.c.left_at).where(
                    P.c.order_id == order_id
                )
            )
        ).all()
        customer = next((r.user_id for r in rows if r.role == "customer"), None)
        vendor = next((r.user_id for r in rows if r.role == "vendor"), None)
        riders = {
            r.user_id: domain.RiderState(
                assigned=r.joined_at is not None, unassigned=r.left_at is not None
            )
            for r in rows
            if r.role == "rider"
        }
        return domain.RoomState(
            order_id=order_id,
            customer_id=customer,
            vendor_id=vendor,
            riders=riders,
            closed_reason=closed_reason,  # type: ignore[arg-type]
        )

    async def _write_changes(
        self,
        conn: AsyncConnection,
        before: domain.RoomState,
        after: domain.RoomState,
        now: datetime,
    ) -> None:
        oid = after.order_id
        if before.customer_id is None and after.customer_id is not None:
            await conn.execute(
                sa.insert(P),
                [
                    {
                        "order_id": oid,
                        "user_id": after.customer_id,
                        "role": "customer",
                        "joined_at": now,
                    },
                    {
                        "order_id": oid,
                        "user_id": after.vendor_id,
                        "role": "vendor",
                        "joined_at": now,
                    },
                ],
            )
        for rider_id, new in after.riders.items():
            old = before.riders.get(rider_id)
            if old == new:
                continue
            if old is None:
                await conn.execute(
                    sa.insert(P).values(
                        order_id=oid,
                        user_id=rider_id,
                        role="rider",
                        joined_at=now if new.assigned else None,
                        left_at=now if new.unassigned else None,
                    )
                )
                continue
            values: dict[str, datetime] = {}
            if new.assigned and not old.assigned:
                values["joined_at"] = now
            if new.unassigned and not old.unassigned:
                values["left_at"] = now
            await conn.execute(
                sa.update(P)
                .where(P.c.order_id == oid, P.c.user_id == rider_id, P.c.role == "rider")
                .values(**values)
            )
        if before.closed_reason is None and after.closed_reason is not None:
            await conn.execute(
                sa.update(R)
                .where(R.c.order_id == oid)
                .values(closed_reason=after.closed_reason, closed_at=now)
            )

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


def _check_no_conflict(state: domain.RoomState, event: OrderEvent) -> None:
    """A second ``order.accepted`` naming other parties cannot be applied (the first one
    fixed who may read the room), and calling it a duplicate would drop it silently:
    it is an invalid event, reported (and from SQS, left for the dead-letter queue)."""
    if event.kind != "accepted" or state.customer_id is None:
        return
    if (state.customer_id, state.vendor_id) != (event.customer_id, event.vendor_id):
        raise InvalidEventError(
            "conflicts with the order.accepted already applied (other customerId/vendorId)"
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
