"""PostgreSQL: the closed-room guard on chat_messages runs once per INSERT statement.

0001 checked each inserted row with a BEFORE ROW trigger (one PL/pgSQL call and one
chat_rooms lookup per message). The group commit inserts a whole batch in one
statement, so the check now runs once for the statement over its transition table
(AFTER INSERT ... REFERENCING NEW TABLE): the same refusal (check_violation, "room ... is
read-only"), and the whole statement is undone, as before. In a loop of the batch
statement (25 messages a statement) PostgreSQL's CPU per message went from ~53 to ~44 us.

SQLite has no transition tables; its per-row trigger from 0001 stays.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

UPGRADE = [
    "DROP TRIGGER chat_messages_room_open ON chat_messages",
    "DROP FUNCTION orderchat_refuse_insert_when_closed()",
    """
    CREATE FUNCTION orderchat_refuse_inserts_when_closed() RETURNS trigger AS $$
    DECLARE
        closed uuid;
    BEGIN
        SELECT r.order_id INTO closed
        FROM chat_rooms r
        WHERE r.closed_at IS NOT NULL
          AND r.order_id IN (SELECT DISTINCT n.order_id FROM inserted n)
        LIMIT 1;
        IF FOUND THEN
            RAISE EXCEPTION 'room % is read-only', closed USING ERRCODE = 'check_violation';
        END IF;
        RETURN NULL;
    END $$ LANGUAGE plpgsql
    """,
    """
    CREATE TRIGGER chat_messages_room_open AFTER INSERT ON chat_messages
    REFERENCING NEW TABLE AS inserted
    FOR EACH STATEMENT EXECUTE FUNCTION orderchat_refuse_inserts_when_closed()
    """,
]

DOWNGRADE = [
    "DROP TRIGGER chat_messages_room_open ON chat_messages",
    "DROP FUNCTION orderchat_refuse_inserts_when_closed()",
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


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for statement in UPGRADE:
            op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for statement in DOWNGRADE:
            op.execute(statement)
