"""How appends reach the database: a whole batch in one commit (group.py forms the
batches), and the one-message paths a failed batch falls back to.

Every path bumps the room's seq only while the room is open, atomically with the insert,
and reads the timestamp once the room's seq is held, so a higher seq never carries an
earlier timestamp. A batch never spends a seq on a message it does not store: a
``clientMessageId`` already stored is left out before the bump (it is then answered as
the duplicate it is by the caller, like a message to a closed room).
"""

from __future__ import annotations

import uuid
from collections import Counter
from datetime import UTC, datetime
from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy import exc

from orderchat.domain.messages import Message, utcnow_ms
from orderchat.errors import ForbiddenError
from orderchat.store.db import Database
from orderchat.store.group import Outcome
from orderchat.store.schema import chat_messages as M
from orderchat.store.schema import chat_rooms as R

# PostgreSQL: a batch in ONE autocommitted statement, so one round trip and one commit.
# The rooms are locked in order_id order (no deadlock between two instances' batches);
# a room's messages take consecutive seqs in arrival order; a room closed meanwhile is
# not locked (READ COMMITTED re-checks closed_at once the close's lock is released), so
# its messages are not stored. Raw SQL: the statement needs unnest() WITH ORDINALITY,
# a locking CTE and a window function, clearer written out than built with Core.
_PG_BATCH = """
WITH input AS (
    SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::uuid[], $4::text[], $5::text[],
                         $6::text[])
        WITH ORDINALITY AS t(message_id, order_id, sender_id, sender_role, content,
                             client_message_id, ord)
), fresh AS (
    SELECT i.* FROM input i
    WHERE i.client_message_id IS NULL OR NOT EXISTS (
        SELECT 1 FROM chat_messages m
        WHERE m.order_id = i.order_id AND m.sender_id = i.sender_id
          AND m.client_message_id = i.client_message_id)
), counts AS (
    SELECT order_id, count(*) AS n FROM fresh GROUP BY order_id
), locked AS (
    SELECT r.order_id FROM chat_rooms r JOIN counts c ON c.order_id = r.order_id
    WHERE r.closed_at IS NULL ORDER BY r.order_id FOR UPDATE OF r
), bump AS (
    UPDATE chat_rooms r SET last_seq = r.last_seq + c.n
    FROM counts c, locked l
    WHERE r.order_id = c.order_id AND l.order_id = r.order_id AND r.closed_at IS NULL
    RETURNING r.order_id, r.last_seq - c.n AS base,
              date_trunc('milliseconds', clock_timestamp()) AS ts
)
INSERT INTO chat_messages (message_id, order_id, seq, sender_id, sender_role, content,
                           client_message_id, created_at)
SELECT f.message_id, f.order_id,
       b.base + row_number() OVER (PARTITION BY f.order_id ORDER BY f.ord),
       f.sender_id, f.sender_role, f.content, f.client_message_id, b.ts
FROM fresh f JOIN bump b ON b.order_id = f.order_id
RETURNING message_id, seq, created_at
"""

# SQLite: constant statements (compiled once, cached by sqlite3) that take a batch as one
# JSON parameter; UUIDs are stored as 32 hex characters there (SQLAlchemy's Uuid).
_SQLITE_KNOWN = """
SELECT m.order_id, m.sender_id, m.client_message_id
FROM json_each(?) AS j JOIN chat_messages AS m
  ON m.order_id = json_extract(j.value, '$[0]')
 AND m.sender_id = json_extract(j.value, '$[1]')
 AND m.client_message_id = json_extract(j.value, '$[2]')
"""
_SQLITE_BUMP = """
UPDATE chat_rooms SET last_seq = last_seq + c.n
FROM (SELECT json_extract(value, '$[0]') AS order_id, json_extract(value, '$[1]') AS n
      FROM json_each(?)) AS c
WHERE chat_rooms.order_id = c.order_id AND chat_rooms.closed_at IS NULL
RETURNING chat_rooms.order_id, chat_rooms.last_seq
"""
_INSERT = sa.insert(M)

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
    send."""
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


def _row(msg: Message, seq: int, created_at: datetime) -> dict[str, Any]:
    """The message as stored, with its seq and timestamp."""
    return {
        "message_id": msg.message_id,
        "order_id": msg.order_id,
        "seq": seq,
        "sender_id": msg.sender_id,
        "sender_role": msg.sender_role,
        "content": msg.content,
        "client_message_id": msg.client_message_id,
        "created_at": created_at,
    }


def _refusal(error: exc.IntegrityError) -> Exception:
    """The store's refusal of a sender who is not a participant (migration 0003's
    trigger) as FORBIDDEN; any other constraint hit as it is."""
    if "not a participant" in str(error.orig):
        return ForbiddenError("the sender is no longer a participant")
    return error


class Appender:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def flush(self, msgs: list[Message]) -> list[Outcome]:
        """Store a batch in one commit. When a unique key is hit all the same (the same
        clientMessageId stored meanwhile by another instance, or a sender who is no longer a
        participant: migration 0003), the batch is rolled back and its messages are stored
        one by one, each with its own answer: only the offender fails."""
        try:
            if self._db.is_sqlite:
                return await self._flush_sqlite(msgs)
            return await self._flush_postgres(msgs)
        except exc.IntegrityError as error:
            if len(msgs) == 1:
                return [_refusal(error)]
        outcomes: list[Outcome] = []
        for msg in msgs:
            try:
                outcomes.append(await self.single(msg))
            except exc.IntegrityError as error:
                outcomes.append(_refusal(error))
        return outcomes

    async def single(self, msg: Message) -> tuple[int, datetime] | None:
        if self._db.is_sqlite:
            return await self._single_sqlite(msg)
        return await self._single_postgres(msg)

    # --- PostgreSQL ---------------------------------------------------------------------

    async def _flush_postgres(self, msgs: list[Message]) -> list[Outcome]:
        params = (
            [m.message_id for m in msgs],
            [m.order_id for m in msgs],
            [m.sender_id for m in msgs],
            [m.sender_role for m in msgs],
            [m.content for m in msgs],
            [m.client_message_id for m in msgs],
        )
        async with self._db.direct() as conn:  # asyncpg itself: see Database.direct
            rows: list[Any] = await conn.fetch(_PG_BATCH, *params)
        stored: dict[uuid.UUID, tuple[int, datetime]] = {
            message_id: (int(seq), created_at.astimezone(UTC))
            for message_id, seq, created_at in rows
        }
        return [stored.get(m.message_id) for m in msgs]

    async def _single_postgres(self, msg: Message) -> tuple[int, datetime] | None:
        """One autocommitted statement: bump the open room's seq and insert."""
        params = {f"p_{c}": getattr(msg, c) for c in _ONE_STATEMENT_PARAMS}
        async with self._db.autocommit() as conn:
            stored = (await conn.execute(_APPEND_ONE_STATEMENT, params)).one_or_none()
        return (int(stored.seq), stored.created_at) if stored is not None else None

    # --- SQLite ---------------------------------------------------------------------------

    async def _flush_sqlite(self, msgs: list[Message]) -> list[Outcome]:
        """One transaction (one fsync) under the in-process write lock: look up the
        batch's clientMessageIds, bump every room's seq in one UPDATE, insert the rest."""
        async with self._db.write() as conn:
            known: set[tuple[str, str, str]] = set()
            keyed = [
                (m.order_id.hex, m.sender_id.hex, m.client_message_id)
                for m in msgs
                if m.client_message_id is not None
            ]
            if keyed:
                found: list[Any] = list(
                    await conn.exec_driver_sql(_SQLITE_KNOWN, (orjson.dumps(keyed).decode(),))
                )
                known = {(oid, sender, cmid) for oid, sender, cmid in found}
            fresh = [
                m
                for m in msgs
                if m.client_message_id is None
                or (m.order_id.hex, m.sender_id.hex, m.client_message_id) not in known
            ]
            counts = Counter(m.order_id.hex for m in fresh)
            if not counts:
                return [None] * len(msgs)
            bumped: list[Any] = list(
                await conn.exec_driver_sql(
                    _SQLITE_BUMP, (orjson.dumps(list(counts.items())).decode(),)
                )
            )
            next_seq = {oid: int(last) - counts[oid] + 1 for oid, last in bumped}
            created_at = utcnow_ms()  # inside the write lock: in seq order
            stored: dict[uuid.UUID, tuple[int, datetime]] = {}
            rows = []
            for m in fresh:
                seq = next_seq.get(m.order_id.hex)
                if seq is None:  # the room is closed or absent
                    continue
                next_seq[m.order_id.hex] = seq + 1
                stored[m.message_id] = (seq, created_at)
                rows.append(_row(m, seq, created_at))
            if rows:
                await conn.execute(_INSERT, rows)  # one executemany
        return [stored.get(m.message_id) for m in msgs]

    async def _single_sqlite(self, msg: Message) -> tuple[int, datetime] | None:
        """The UPDATE ... RETURNING of the seq and the INSERT, one transaction."""
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
            await conn.execute(sa.insert(M).values(_row(msg, int(seq), created_at)))
            return int(seq), created_at
