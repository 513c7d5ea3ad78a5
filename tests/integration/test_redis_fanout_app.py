"""ORDERCHAT_REDIS_URL wires the Redis fan-out into the app: /readyz and /metrics follow it.

The database is a throwaway SQLite file (the fan-out is what is under test), so this runs
once; the two-instance behaviour on PostgreSQL is in tests/e2e/test_multi_instance.py.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest

from orderchat.app import build_services, create_app
from orderchat.realtime.redis_fanout import RedisFanout
from orderchat.services import Services
from tests.conftest import make_settings
from tests.redis_server import RedisServer, running_redis

WAIT = 20.0


@pytest.fixture
def redis(tmp_path: Path) -> Iterator[RedisServer]:
    with running_redis(tmp_path / "redis") as server:
        yield server


@pytest.fixture
async def wired(
    tmp_path: Path, redis: RedisServer
) -> AsyncIterator[tuple[Services, httpx.AsyncClient]]:
    settings = make_settings(tmp_path, f"sqlite:///{tmp_path / 'oc.db'}", redis_url=redis.url)
    services = build_services(settings)
    app = create_app(settings, services)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            yield services, client


def backplane_up(metrics_text: str) -> float:
    for line in metrics_text.splitlines():
        if line.startswith("orderchat_backplane_up "):
            return float(line.split()[1])
    raise AssertionError("orderchat_backplane_up missing from /metrics")


async def readyz_until(client: httpx.AsyncClient, status: int) -> httpx.Response:
    deadline = time.monotonic() + WAIT
    while True:
        response = await client.get("/readyz")
        if response.status_code == status:
            return response
        assert time.monotonic() < deadline, f"/readyz stayed {response.status_code}"
        await asyncio.sleep(0.05)


async def test_redis_url_wires_fanout_readiness_and_metric(
    redis: RedisServer, wired: tuple[Services, httpx.AsyncClient]
) -> None:
    services, client = wired
    fanout = services.extras["fanout"]
    assert isinstance(fanout, RedisFanout)
    assert fanout.healthy

    ok = await client.get("/readyz")
    assert ok.status_code == 200
    assert ok.json()["checks"] == {"database": "ok", "redis": "ok"}
    assert backplane_up((await client.get("/metrics")).text) == 1.0

    await asyncio.to_thread(redis.stop)
    down = await readyz_until(client, 503)
    assert down.json()["failed"] == ["redis"]
    assert down.json()["checks"]["database"] == "ok"
    assert backplane_up((await client.get("/metrics")).text) == 0.0

    await asyncio.to_thread(redis.start)
    back = await readyz_until(client, 200)
    assert back.json()["checks"]["redis"] == "ok"
    body = (await client.get("/metrics")).text
    assert backplane_up(body) == 1.0
    assert "orderchat_backplane_reconnects_total 1.0" in body


async def test_without_redis_url_there_is_no_redis_check(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, f"sqlite:///{tmp_path / 'oc.db'}")
    services = build_services(settings)
    assert "redis" not in services.readiness
    assert not isinstance(services.extras.get("fanout"), RedisFanout)


async def test_app_starts_while_redis_is_down_and_becomes_ready_when_it_appears(
    tmp_path: Path,
) -> None:
    redis = RedisServer(tmp_path / "late-redis")  # not started yet
    settings = make_settings(tmp_path, f"sqlite:///{tmp_path / 'oc.db'}", redis_url=redis.url)
    services = build_services(settings)
    app = create_app(settings, services)
    try:
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
                assert (await client.get("/healthz")).status_code == 200
                down = await readyz_until(client, 503)
                assert down.json()["failed"] == ["redis"]
                await asyncio.to_thread(redis.start)
                assert (await readyz_until(client, 200)).json()["checks"]["redis"] == "ok"
    finally:
        await asyncio.to_thread(redis.stop)
