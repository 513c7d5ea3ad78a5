"""Messages: where a message is stored (seq assigned in the same transaction as the open check)."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy import exc
from sqlalchemy.ext.asyncio import AsyncConnection

from orderchat.domain.messages import Message, utcnow_ms
from orderchat.errors import NotFoundError, RoomReadOnlyError
from orderchat.store.db import Database
from orderchat.store.schema import chat_messages as M
from orderchat.store.schema import chat_read_marks as RM
from orderchat.store.schema import chat_rooms as R


def _row(msg: Message) -> dict[str, Any]:
    return {
        "message_id": msg.message_id,
        "order_id": msg.order_id,
        "seq": msg.seq,
        "sender_id": msg.sender_id,
        "sender_role": msg.sender_role,
        "content": msg.content,
        "client_message_id": msg.client_message_id,
        "created_at": msg.created_at,
    }


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


# the message columns the one-statement append takes as ``p_<column>`` parameters
_ONE_STATEMENT_PARAMS = (
    "message_id",
    "order_id",
    "sender_id",
    "sender_role",
    "content",
    "client_message_id",
)


def _append_one_statement() -> Any:
    """``WITH bump AS (UPDATE chat_rooms ... RETURNING last_seq, now) INSERT INTO
    chat_messages SELECT ..., bump.last_seq, bump.ts FROM bump RETURNING seq, created_at``.

    Built once, with bound parameters: SQLAlchemy neither rebuilds nor re-keys it per
    send. The timestamp is read once the seq is held (clock_timestamp(), milliseconds),
    so a higher seq never carries an earlier timestamp."""
    now = sa.func.date_trunc("milliseconds", sa.func.clock_timestamp())
    bump = (
        sa.update(R)
        .where(R.c.order_id == sa.bindparam("p_order_id", type_=R.c.order_id.type))
        .where(R.c.closed_at.is_(None))
        .values(last_seq=R.c.last_seq + 1)
        .returning(R.c.last_seq, now.label("ts"))
        .cte("bump")
    )
    row = sa.select(
        *(sa.bindparam(f"p_{c}", type_=M.c[c].type).label(c) for c in _ONE_STATEMENT_PARAMS),
        bump.c.last_seq.label("seq"),
        bump.c.ts.label("created_at"),
    )
    return (
        sa.insert(M)
        .from_select([*_ONE_STATEMENT_PARAMS, "seq", "created_at"], row)
        .returning(M.c.seq, M.c.created_at)
        .add_cte(bump)
    )


_APPEND_ONE_STATEMENT = _append_one_statement()


class MessageStore:
    def __init__(self, db: Database) -> None:
        self._db = db

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

        The seq counter of the room is bumped only while the room is open, atomically
        with the insert: a close that commits first leaves the room unmatched (then
        RoomReadOnlyError, or NotFoundError for no room); a close that comes after waits
        for the row lock. On PostgreSQL that is one statement (``WITH bump AS (UPDATE ...
        RETURNING) INSERT ... SELECT FROM bump``) committed by itself: one round trip. On
        SQLite, an UPDATE and an INSERT in one transaction.

        A retried ``client_message_id`` is found by the unique constraint (the insert
        fails, the seq bump rolls back with it, the earlier message is read), so a first
        send costs no lookup. A retry to a room closed since is looked up before refusing,
        so it still gets its duplicate ack.
        """
        msg = Message(
            message_id=uuid.uuid4(),
            order_id=order_id,
            seq=0,  # assigned by the store
            sender_id=sender_id,
            sender_role=sender_role,
            content=content,
            created_at=now,
            client_message_id=client_message_id,
        )
        try:
            if self._db.is_sqlite:
                stored = await self._store_in_transaction(msg)
            else:
                stored = await self._store_in_one_statement(msg)
        except exc.IntegrityError:
            if client_message_id is None:
                raise
            existing = await self._earlier(order_id, sender_id, client_message_id)
            if existing is None:
                raise
            return existing, True
        if stored is not None:
            seq, created_at = stored
            return replace(msg, seq=seq, created_at=created_at), False
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

    # The timestamp is read once the room's seq is held, not before (the caller's ``now``
    # was read before waiting for the room's row lock, and instances' clocks differ): so a
    # higher seq never carries an earlier timestamp. On PostgreSQL it is the database's
    # clock at the seq bump; on SQLite (one process) the clock inside the write lock.

    async def _store_in_one_statement(self, msg: Message) -> tuple[int, datetime] | None:
        """PostgreSQL: bump the open room's seq and insert, in one autocommitted statement."""
        params = {f"p_{c}": getattr(msg, c) for c in _ONE_STATEMENT_PARAMS}
        async with self._db.autocommit() as conn:
            stored = (await conn.execute(_APPEND_ONE_STATEMENT, params)).one_or_none()
        return (int(stored.seq), stored.created_at) if stored is not None else None

    async def _store_in_transaction(self, msg: Message) -> tuple[int, datetime] | None:
        """SQLite: the UPDATE ... RETURNING of the seq and the INSERT, one transaction."""
        async with self._db.write() as conn:
            seq = (
                await conn.execute(
                    sa.update(R)
                    .where(R.c.order_id == msg.order_id, R.c.closed_at.is_(None))
                    .values(last_seq=R.c.last_seq + 1)
                    .returning(R.c.last_seq)
                )
            ).scalar_one_or_none()
            if seq is None:
                return None
            created_at = utcnow_ms()  # inside the write lock: in seq order
            await conn.execute(
                sa.insert(M).values(_row(replace(msg, seq=int(seq), created_at=created_at)))
            )
            return int(seq), created_at

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
