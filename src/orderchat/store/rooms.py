"""Rooms and participants: where an order event is applied and where a room is closed.

The reads (``RoomView``, ``get``, ``list``) live in ``room_views``; ``RoomStore`` inherits them."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from orderchat.domain import rooms as domain
from orderchat.domain.events import OrderEvent
from orderchat.errors import InvalidEventError
from orderchat.store.room_views import RoomReads, RoomView, participants_wire
from orderchat.store.schema import chat_participants as P
from orderchat.store.schema import chat_rooms as R

__all__ = ["Applied", "RoomStore", "RoomView", "participants_wire"]


@dataclass(frozen=True, slots=True)
class Applied:
    changed: bool
    changes: domain.RoomChanges
    closed_at: datetime | None


class RoomStore(RoomReads):
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
