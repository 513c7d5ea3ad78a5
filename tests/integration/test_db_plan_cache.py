"""PostgreSQL connections plan every execution for its own parameters (see store/db.py):
a generic plan made while the tables were empty must never outlive their growth."""

from __future__ import annotations

import sqlalchemy as sa

from orderchat.store.db import Database


async def test_postgres_connections_force_custom_plans(postgres_db: str) -> None:
    db = Database(postgres_db)
    try:
        async with db.read() as conn:
            mode = (await conn.execute(sa.text("SHOW plan_cache_mode"))).scalar_one()
    finally:
        await db.close()
    assert mode == "force_custom_plan"


async def test_the_group_commits_own_connections_force_custom_plans_too(postgres_db: str) -> None:
    db = Database(postgres_db)
    try:
        async with db.direct() as conn:  # the asyncpg connection store/append.py batches on
            mode = await conn.fetchval("SHOW plan_cache_mode")
    finally:
        await db.close()
    assert mode == "force_custom_plan"
