"""Initial schema: rooms, participants, messages, read marks, admin audit; immutability triggers.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from orderchat.store.schema import UTCDateTime

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

PG_TRIGGERS = [
    """
    CREATE FUNCTION orderchat_refuse_message_change() RETURNS trigger AS $$
    BEGIN
        RAISE EXCEPTION 'chat_messages are immutable' USING ERRCODE = 'restrict_violation';
    END $$ LANGUAGE plpgsql
    """,
    """
    CREATE TRIGGER chat_messages_immutable BEFORE UPDATE OR DELETE ON chat_messages
    FOR EACH ROW EXECUTE FUNCTION orderchat_refuse_message_change()
    """,
    """
    CREATE FUNCTION orderchat_refuse_insert_when_closed() RETURNS trigger AS $$
    BEGIN
        IF EXISTS (SELECT 1 FROM chat_rooms
                   WHERE order_id = NEW.order_id AND closed_at IS NOT NULL) THEN
            RAISE EXCEPTION 'room % is read-only', NEW.order_id
                USING ERRCODE = 'check_violation';
        END IF;
        RETURN NEW;
    END $$ LANGUAGE plpgsql
    """,
    """
    CREATE TRIGGER chat_messages_room_open BEFORE INSERT ON chat_messages
    FOR EACH ROW EXECUTE FUNCTION orderchat_refuse_insert_when_closed()
    """,
]

SQLITE_TRIGGERS = [
    """
    CREATE TRIGGER chat_messages_no_update BEFORE UPDATE ON chat_messages
    BEGIN SELECT RAISE(ABORT, 'chat_messages are immutable'); END
    """,
    """
    CREATE TRIGGER chat_messages_no_delete BEFORE DELETE ON chat_messages
    BEGIN SELECT RAISE(ABORT, 'chat_messages are immutable'); END
    """,
    """
    CREATE TRIGGER chat_messages_room_open BEFORE INSERT ON chat_messages
    WHEN EXISTS (SELECT 1 FROM chat_rooms
                 WHERE order_id = NEW.order_id AND closed_at IS NOT NULL)
    BEGIN SELECT RAISE(ABORT, 'room is read-only'); END
    """,
]


def upgrade() -> None:
    op.create_table(
        "chat_rooms",
        sa.Column("order_id", sa.Uuid(), primary_key=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("closed_reason", sa.String(16), nullable=True),
        sa.Column("closed_at", UTCDateTime(), nullable=True),
        sa.Column("last_seq", sa.BigInteger(), nullable=False, server_default="0"),
    )
    op.create_index("ix_chat_rooms_created", "chat_rooms", ["created_at", "order_id"])
    op.create_table(
        "chat_participants",
        sa.Column("order_id", sa.Uuid(), sa.ForeignKey("chat_rooms.order_id"), primary_key=True),
        sa.Column("user_id", sa.Uuid(), primary_key=True),
        sa.Column("role", sa.String(16), primary_key=True),
        sa.Column("joined_at", UTCDateTime(), nullable=True),
        sa.Column("left_at", UTCDateTime(), nullable=True),
    )
    op.create_index("ix_chat_participants_user", "chat_participants", ["user_id"])
    op.create_table(
        "chat_messages",
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
    op.create_table(
        "chat_read_marks",
        sa.Column("order_id", sa.Uuid(), sa.ForeignKey("chat_rooms.order_id"), primary_key=True),
        sa.Column("user_id", sa.Uuid(), primary_key=True),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
    )
    op.create_table(
        "admin_audit",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("admin_id", sa.Uuid(), nullable=False),
        sa.Column("action", sa.String(32), nullable=False),
        sa.Column("order_id", sa.Uuid(), nullable=True),
        sa.Column("at", UTCDateTime(), nullable=False),
    )
    op.create_index("ix_admin_audit_order", "admin_audit", ["order_id"])
    triggers = PG_TRIGGERS if op.get_bind().dialect.name == "postgresql" else SQLITE_TRIGGERS
    for statement in triggers:
        op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TABLE chat_messages")
        op.execute("DROP FUNCTION orderchat_refuse_message_change()")
        op.execute("DROP FUNCTION orderchat_refuse_insert_when_closed()")
    else:
        op.drop_table("chat_messages")
    for table in ("admin_audit", "chat_read_marks", "chat_participants", "chat_rooms"):
        op.drop_table(table)
