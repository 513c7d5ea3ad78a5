"""The admin audit log: every admin read of a room, who and when."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from orderchat.domain.messages import rfc3339_ms
from orderchat.errors import InvalidPayloadError
from orderchat.store.db import Database
from orderchat.store.schema import admin_audit as A

MAX_AUDIT_ID = 2**63 - 1


class AuditStore:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def record(
        self, admin_id: uuid.UUID, action: str, order_id: uuid.UUID | None, now: datetime
    ) -> None:
        async with self._db.write() as conn:
            await conn.execute(
                sa.insert(A).values(admin_id=admin_id, action=action, order_id=order_id, at=now)
            )

    async def list(
        self, *, limit: int, cursor: str | None, order_id: uuid.UUID | None = None
    ) -> tuple[list[dict[str, Any]], str | None]:
        query = sa.select(A).order_by(A.c.id.desc()).limit(limit + 1)
        if cursor is not None:
            try:
                before = int(cursor)
            except ValueError:
                before = 0
            # ids are positive 64-bit integers; anything else would fail in the driver (500)
            if not 0 < before <= MAX_AUDIT_ID:
                raise InvalidPayloadError("cursor: not a cursor this service issued") from None
            query = query.where(A.c.id < before)
        if order_id is not None:
            query = query.where(A.c.order_id == order_id)
        async with self._db.read() as conn:
            rows = (await conn.execute(query)).all()
        entries = [
            {
                "id": int(r.id),
                "adminId": str(r.admin_id),
                "action": r.action,
                "orderId": str(r.order_id) if r.order_id else None,
                "at": rfc3339_ms(r.at),
            }
            for r in rows[:limit]
        ]
        next_cursor = str(rows[limit - 1].id) if len(rows) > limit else None
        return entries, next_cursor
