"""The store refuses a message whose sender is not a current participant of its room.

SPEC 5.3: the message is stored in the same transaction (statement) that checks the room
is open and the sender is a participant, whatever a connection's cached membership or
Redis says (issue 15, item 1: a rider unassigned on one instance kept sending through
another while Redis was down). The append statements lock the room row before they
insert; an event that unassigns a rider holds the same lock while it writes ``left_at``,
so the check below (run after the insert, with a fresh snapshot) sees every unassignment
committed before the message took the room's seq.

A participant is a ``chat_participants`` row of the room, user and role with
``joined_at`` set and ``left_at`` not set. The refusal is a check_violation whose text
says "not a participant" (store/append.py tells it from the closed-room one).

PostgreSQL: once per INSERT statement over its transition table, like 0002's guard.
SQLite: a BEFORE INSERT row trigger, like 0001's.

Revision ID: 0003_sender_participant
Revises: 0002
"""

from __future__ import annotations

from alembic import op

revision = "0003_sender_participant"
down_revision = "0002"
branch_labels = None
depends_on = None

PG_UPGRADE = [
    """
    CREATE FUNCTION orderchat_refuse_inserts_from_outsiders() RETURNS trigger AS $$
    DECLARE
        outsider uuid;
    BEGIN
        SELECT n.order_id INTO outsider
        FROM inserted n
        WHERE NOT EXISTS (
            SELECT 1 FROM chat_participants p
            WHERE p.order_id = n.order_id AND p.user_id = n.sender_id
              AND p.role = n.sender_role
              AND p.joined_at IS NOT NULL AND p.left_at IS NULL)
        LIMIT 1;
        IF FOUND THEN
            RAISE EXCEPTION 'sender is not a participant of room %', outsider
                USING ERRCODE = 'check_violation';
        END IF;
        RETURN NULL;
    END $$ LANGUAGE plpgsql
    """,
    """
    CREATE TRIGGER chat_messages_sender_participant AFTER INSERT ON chat_messages
    REFERENCING NEW TABLE AS inserted
    FOR EACH STATEMENT EXECUTE FUNCTION orderchat_refuse_inserts_from_outsiders()
    """,
]

PG_DOWNGRADE = [
    "DROP TRIGGER chat_messages_sender_participant ON chat_messages",
    "DROP FUNCTION orderchat_refuse_inserts_from_outsiders()",
]

SQLITE_UPGRADE = [
    """
    CREATE TRIGGER chat_messages_sender_participant BEFORE INSERT ON chat_messages
    WHEN NOT EXISTS (SELECT 1 FROM chat_participants
                     WHERE order_id = NEW.order_id AND user_id = NEW.sender_id
                       AND role = NEW.sender_role
                       AND joined_at IS NOT NULL AND left_at IS NULL)
    BEGIN SELECT RAISE(ABORT, 'sender is not a participant'); END
    """,
]

SQLITE_DOWNGRADE = ["DROP TRIGGER chat_messages_sender_participant"]


def upgrade() -> None:
    pg = op.get_bind().dialect.name == "postgresql"
    for statement in PG_UPGRADE if pg else SQLITE_UPGRADE:
        op.execute(statement)


def downgrade() -> None:
    pg = op.get_bind().dialect.name == "postgresql"
    for statement in PG_DOWNGRADE if pg else SQLITE_DOWNGRADE:
        op.execute(statement)
