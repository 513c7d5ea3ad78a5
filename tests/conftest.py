"""Shared fixtures.

Every test that takes ``db_url`` (directly or through ``settings``/``app``/``client``/
``server``) runs twice: on SQLite and on PostgreSQL. PostgreSQL comes from
``ORDERCHAT_TEST_POSTGRES_URL`` (scripts/test sets it); when it is unreachable the
PostgreSQL tests fail, they are never skipped.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from fastapi import FastAPI

from orderchat.app import build_services, create_app
from orderchat.config import Settings
from orderchat.identity import issue_token
from orderchat.services import Services
from orderchat.store import Store
from orderchat.store.schema import ALL_TABLES

TEST_SECRET = "test-secret-" + "x" * 40
DEFAULT_PG = "postgresql://postgres@127.0.0.1:5432/orderchat_test"
BACKENDS = ["sqlite", "postgresql"]
# The exact fields of a message on the wire (SPEC 5.2).
MESSAGE_FIELDS = {
    "messageId",
    "orderId",
    "seq",
    "senderId",
    "senderRole",
    "content",
    "timestamp",
    "clientMessageId",
}


def pg_url() -> str:
    return os.environ.get("ORDERCHAT_TEST_POSTGRES_URL", DEFAULT_PG)


async def _recreate_pg(url: str) -> None:
    base, _, name = url.rpartition("/")
    admin = await asyncpg.connect(base.replace("postgresql://", "postgres://") + "/postgres")
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    store = Store.from_url(url)
    try:
        await store.migrate()
    finally:
        await store.close()


@pytest.fixture(scope="session")
def postgres_db() -> str:
    url = pg_url()
    try:
        asyncio.run(_recreate_pg(url))
    except (OSError, asyncpg.PostgresError) as err:
        pytest.fail(f"PostgreSQL at {url} is needed for the postgresql tests: {err}")
    return url


async def _truncate(url: str) -> None:
    conn = await asyncpg.connect(url.replace("postgresql://", "postgres://"))
    try:
        names = ", ".join(t.name for t in ALL_TABLES)
        await conn.execute(f"TRUNCATE {names} RESTART IDENTITY CASCADE")
    finally:
        await conn.close()


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def db_url(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> str:
    if backend == "sqlite":
        return f"sqlite:///{tmp_path / 'orderchat.db'}"
    url: str = request.getfixturevalue("postgres_db")
    asyncio.run(_truncate(url))
    return url


def make_settings(tmp_path: Path, db_url: str, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "data_dir": tmp_path / "data",
        "database_url": db_url,
        "jwt_secret": TEST_SECRET,
    }
    values.update(overrides)
    return Settings(**values)


@pytest.fixture
def settings(tmp_path: Path, db_url: str) -> Settings:
    return make_settings(tmp_path, db_url)


TokenFactory = Callable[..., str]


@pytest.fixture
def token() -> TokenFactory:
    """token(role, sub=None, ttl=3600) -> an HS256 token signed with TEST_SECRET."""

    def make(role: str, sub: str | uuid.UUID | None = None, ttl: int = 3600) -> str:
        return issue_token(TEST_SECRET, sub=str(sub or uuid.uuid4()), role=role, ttl_seconds=ttl)

    return make


@pytest.fixture
async def services(settings: Settings) -> AsyncIterator[Services]:
    svc = build_services(settings)
    yield svc
    # Tests that use the services without the app's lifespan must not leave the engine's
    # connections to be collected later on a closed event loop.
    await svc.store.close()


@pytest.fixture
async def app(settings: Settings, services: Services) -> AsyncIterator[FastAPI]:
    application = create_app(settings, services)
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
        yield c


def auth(tok: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {tok}"}


@pytest.fixture
def order(services: Services) -> Iterator[Callable[..., Any]]:
    """order(**ids) -> coroutine applying order.accepted; returns the ids used."""

    async def accept(**ids: Any) -> dict[str, str]:
        o = {
            "orderId": str(ids.get("orderId", uuid.uuid4())),
            "customerId": str(ids.get("customerId", uuid.uuid4())),
            "vendorId": str(ids.get("vendorId", uuid.uuid4())),
        }
        await services.events.handle("order.accepted", o, source="test")
        return o

    yield accept
