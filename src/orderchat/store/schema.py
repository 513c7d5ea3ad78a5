"""Tables. Migrations in ``migrations/versions`` create them; queries import them from here."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on both PostgreSQL (timestamptz) and SQLite (text)."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        value = value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        assert isinstance(value, datetime)
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


metadata = sa.MetaData()

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

chat_rooms = sa.Table(
    "chat_rooms",
    metadata,
    sa.Column("order_id", sa.Uuid(), primary_key=True),
    sa.Column("created_at", UTCDateTime(), nullable=False),
    sa.Column("closed_reason", sa.String(16), nullable=True),
    sa.Column("closed_at", UTCDateTime(), nullable=True),
    sa.Column("last_seq", sa.BigInteger(), nullable=False, server_default="0"),
)

chat_participants = sa.Table(
    "chat_participants",
    metadata,
    sa.Column("order_id", sa.Uuid(), sa.ForeignKey("chat_rooms.order_id"), primary_key=True),
    sa.Column("user_id", sa.Uuid(), primary_key=True),
    sa.Column("role", sa.String(16), primary_key=True),
    # joined_at is NULL for a rider whose unassignment arrived before the assignment.
    sa.Column("joined_at", UTCDateTime(), nullable=True),
    sa.Column("left_at", UTCDateTime(), nullable=True),
    sa.Index("ix_chat_participants_user", "user_id"),
)

chat_messages = sa.Table(
    "chat_messages",
    metadata,
    sa.Column("message_id", sa.Uuid(), primary_key=True),
    sa.Column("order_id", sa.Uuid(), sa.ForeignKey("chat_rooms.order_id"), nullable=False),
    sa.Column("seq", sa.BigInteger(), nullable=False),
    sa.Column("sender_id", sa.Uuid(), nullable=False),
    sa.Column("sender_role", sa.String(16), nullable=False),
    sa.Column("content", sa.Text(), nullable=False),
    sa.Column("client_message_id", sa.String(64), nullable=True),
    sa.Column("created_at", UTCDateTime(), nullable=False),
    sa.UniqueConstraint("order_id", "seq", name="uq_chat_messages_room_seq"),
    sa.UniqueConstraint(
        "order_id", "sender_id", "client_message_id", name="uq_chat_messages_client_id"
    ),
)

chat_read_marks = sa.Table(
    "chat_read_marks",
    metadata,
    sa.Column("order_id", sa.Uuid(), sa.ForeignKey("chat_rooms.order_id"), primary_key=True),
    sa.Column("user_id", sa.Uuid(), primary_key=True),
    sa.Column("seq", sa.BigInteger(), nullable=False),
    sa.Column("updated_at", UTCDateTime(), nullable=False),
)

admin_audit = sa.Table(
    "admin_audit",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("admin_id", sa.Uuid(), nullable=False),
    sa.Column("action", sa.String(32), nullable=False),
    sa.Column("order_id", sa.Uuid(), nullable=True),
    sa.Column("at", UTCDateTime(), nullable=False),
    sa.Index("ix_admin_audit_order", "order_id"),
)

ALL_TABLES = (chat_read_marks, chat_messages, chat_participants, admin_audit, chat_rooms)
