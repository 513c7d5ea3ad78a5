"""Apply Alembic migrations on the service's own (async) engine."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy.engine import Connection

from orderchat.store.db import Database

MIGRATIONS = Path(__file__).parent / "migrations"


def _config(connection: Connection) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["connection"] = connection
    return cfg


async def upgrade(db: Database, revision: str = "head") -> None:
    def _run(connection: Connection) -> None:
        command.upgrade(_config(connection), revision)

    if db.is_sqlite:
        async with db.write() as conn:
            await conn.run_sync(_run)
    else:
        async with db.write() as conn:
            # One migrator at a time when several instances start together.
            await conn.exec_driver_sql("SELECT pg_advisory_xact_lock(7311942)")
            await conn.run_sync(_run)
