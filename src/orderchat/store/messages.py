"""Messages: where a message is stored (seq assigned in the same transaction as the open check)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy import exc
from sqlalchemy.ext.asyncio import AsyncConnection

from orderchat.domain.messages import Message, new_message_id
from orderchat.errors import NotFoundError, RoomReadOnlyError
from orderchat.store.append import Appender
from orderchat.store.db import Database
from orderchat.store.group import GroupWriter
from orderchat.store.schema import chat_messages as M
from orderchat.store.schema import chat_read_marks as RM
from orderchat.store.schema import chat_rooms as R

# Group-commit batches committing at once on PostgreSQL (store/group.py). 2 was measured
# against 1 on the 2-core box (append latency at 500 and 1,000 msg/s over 200 rooms,
# alternating rounds): no lower latency (p50 1.1-1.9 ms either way, p95/p99 no better),
# smaller batches and more CPU per message; so 1 until a box with spare cores shows a gain.
PG_BATCHES_IN_FLIGHT = 1


def _message(row: Any) -> Message:
    return Message(
        message_id=row.message_id,
        order_id=row.order_id,
        seq=int(row.seq),
        sender_id=row.sender_id,
        sender_role=row.sender_role,
        content=row.content,
        created_at=row.created_at,
        client_message_id=row.client_message_id,
    )


class MessageStore:
    def __init__(self, db: Database) -> None:
        self._db = db
        self._appender = Appender(db)
        # SQLite writes one transaction at a time anyway
        self.writer = GroupWriter(
            self._appender.flush, max_inflight=1 if db.is_sqlite else PG_BATCHES_IN_FLIGHT
        )

    async def append(
        self,
        *,
        order_id: uuid.UUID,
        sender_id: uuid.UUID,
        sender_role: str,
        content: str,
        client_message_id: str | None,
        now: datetime,
    ) -> tuple[Message, bool]:
        """Store a message; returns it and whether it is a duplicate of an earlier send.

        The message joins the store's next group commit (group.py, append.py): the
        room's seq counter is bumped only while the room is open, atomically with the
        insert, and this returns only once that commit has returned. A message the batch
        did not store is either a retried ``client_message_id`` (the earlier message is
        read: a duplicate; also when the room closed since) or a send to a room that is
        closed (RoomReadOnlyError) or absent (NotFoundError).
        """
        msg = Message(
            message_id=new_message_id(),
            order_id=order_id,
            seq=0,  # assigned by the store
            sender_id=sender_id,
            sender_role=sender_role,
            content=content,
            created_at=now,
            client_message_id=client_message_id,
        )
        try:
            stored = await self.writer.write(msg)
        except exc.IntegrityError:
            if client_message_id is None:
                raise
            existing = await self._earlier(order_id, sender_id, client_message_id)
            if existing is None:
                raise
            return existing, True
        if stored is not None:
            seq, created_at = stored
            # built anew rather than dataclasses.replace (which re-reads every field)
            stored_msg = Message(
                msg.message_id,
                order_id,
                seq,
                sender_id,
                sender_role,
                content,
                created_at,
                client_message_id,
            )
            return stored_msg, False
        # the room is closed (or absent): a retry of a message stored before is still one
        if client_message_id is not None:
            existing = await self._earlier(order_id, sender_id, client_message_id)
            if existing is not None:
                return existing, True
        async with self._db.read() as conn:
            exists = (
                await conn.execute(sa.select(R.c.order_id).where(R.c.order_id == order_id))
            ).first()
        if exists is None:
            raise NotFoundError("no such room")
        raise RoomReadOnlyError("the room is read-only")

    async def _earlier(
        self, order_id: uuid.UUID, sender_id: uuid.UUID, cmid: str
    ) -> Message | None:
        async with self._db.read() as conn:
            return await self._by_client_id(conn, order_id, sender_id, cmid)

    async def _by_client_id(
        self, conn: AsyncConnection, order_id: uuid.UUID, sender_id: uuid.UUID, cmid: str
    ) -> Message | None:
        row = (
            await conn.execute(
                sa.select(M).where(
                    M.c.order_id == order_id,
                    M.c.sender_id == sender_id,
                    M.c.client_message_id == cmid,
                )
            )
        ).one_or_none()
        return _message(row) if row is not None else None

    async def page(
        self,
        order_id: uuid.UUID,
        *,
        after_seq: int | None = None,
        before_seq: int | None = None,
        limit: int = 50,
    ) -> tuple[list[Message], bool]:
        """Messages in ascending seq and whether more exist (SPEC 6).

        With ``after_seq``: the first ``limit`` after it; ``has_more`` means newer exist.
        Otherwise the latest ``limit`` (before ``before_seq`` if given); ``has_more`` means
        older exist.
        """
        query = sa.select(M).where(M.c.order_id == order_id)
        if after_seq is not None:
            query = query.where(M.c.seq > after_seq)
        if before_seq is not None:
            query = query.where(M.c.seq < before_seq)
        ascending = after_seq is not None
        query = query.order_by(M.c.seq.asc() if ascending else M.c.seq.desc()).limit(limit + 1)
        async with self._db.read() as conn:
            rows = (await conn.execute(query)).all()
        has_more = len(rows) > limit
        msgs = [_message(r) for r in rows[:limit]]
        if not ascending:
            msgs.reverse()
        return msgs, has_more

    async def after(self, order_id: uuid.UUID, after_seq: int, limit: int = 500) -> list[Message]:
        msgs, _ = await self.page(order_id, after_seq=after_seq, limit=limit)
        return msgs

    async def mark_read(
        self, order_id: uuid.UUID, user_id: uuid.UUID, seq: int, now: datetime
    ) -> int:
        """Move the user's read mark forward (never back); returns the stored mark."""
        async with self._db.write() as conn:
            current = (
                await conn.execute(
                    sa.select(RM.c.seq).where(RM.c.order_id == order_id, RM.c.user_id == user_id)
                )
            ).scalar_one_or_none()
            if current is None:
                await conn.execute(
                    sa.insert(RM).values(
                        order_id=order_id, user_id=user_id, seq=seq, updated_at=now
                    )
                )
                return seq
            if seq > current:
                await conn.execute(
                    sa.update(RM)
                    .where(RM.c.order_id == order_id, RM.c.user_id == user_id)
                    .values(seq=seq, updated_at=now)
                )
                return seq
            return int(current)
