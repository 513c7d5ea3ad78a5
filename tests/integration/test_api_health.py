"""/healthz, /readyz (with a database that does not answer), /metrics, /docs, /openapi.json."""

from __future__ import annotations

import asyncio
import socket
import threading
from pathlib import Path

import httpx

from orderchat.app import create_app
from orderchat.config import Settings
from tests.conftest import TEST_SECRET, TokenFactory, auth


async def test_healthz_and_readyz(client: httpx.AsyncClient) -> None:
    resp = await client.get("/healthz")
    assert resp.status_code == 200 and resp.json()["status"] == "ok"
    resp = await client.get("/readyz")
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["status"] == "ok" and body["checks"]["database"] == "ok" and body["failed"] == []


async def test_docs_and_openapi(client: httpx.AsyncClient) -> None:
    resp = await client.get("/docs")
    assert resp.status_code == 200 and "text/html" in resp.headers["content-type"]
    assert "openapi.json" in resp.text
    spec = (await client.get("/openapi.json")).json()
    assert spec["info"]["title"] == "orderchat"
    paths = spec["paths"]
    for path in (
        "/v1/rooms/{orderId}",
        "/v1/rooms/{orderId}/messages",
        "/v1/admin/rooms",
        "/v1/admin/audit",
        "/v1/events",
        "/healthz",
        "/readyz",
    ):
        assert path in paths, path
    params = {p["name"] for p in paths["/v1/rooms/{orderId}/messages"]["get"]["parameters"]}
    assert {"afterSeq", "beforeSeq", "limit"} <= params


async def test_metrics(client: httpx.AsyncClient, token: TokenFactory) -> None:
    await client.post(
        "/v1/events", json={"eventType": "something.else"}, headers=auth(token("service"))
    )
    resp = await client.get("/metrics")
    assert resp.status_code == 200 and resp.headers["content-type"].startswith("text/plain")
    assert 'orderchat_events_total{outcome="ignored",type="other"} 1.0' in resp.text


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def ready_when_down(settings: Settings) -> httpx.Response:
    application = create_app(settings)
    async with application.router.lifespan_context(application):
        transport = httpx.ASGITransport(app=application)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:
            assert (await c.get("/healthz")).status_code == 200  # alive, just not ready
            return await c.get("/readyz")


async def _check_503(settings: Settings) -> None:
    resp = await ready_when_down(settings)
    assert resp.status_code == 503, resp.text
    body = resp.json()
    assert body["status"] != "ok" and "database" in body["failed"]
    assert body["checks"]["database"] != "ok"


async def test_readyz_503_postgresql_not_answering(tmp_path: Path) -> None:
    url = f"postgresql://postgres@127.0.0.1:{closed_port()}/orderchat"
    settings = Settings(
        data_dir=tmp_path, database_url=url, jwt_secret=TEST_SECRET, auto_migrate=False
    )
    await _check_503(settings)


async def test_readyz_503_sqlite_unopenable(tmp_path: Path) -> None:
    # The database "file" is a directory: SQLite cannot open it.
    settings = Settings(
        data_dir=tmp_path / "data",
        database_url=f"sqlite:///{tmp_path}",
        jwt_secret=TEST_SECRET,
        auto_migrate=False,
    )
    await _check_503(settings)
    # aiosqlite's worker thread of the failed open posts its last result to the event loop
    # a moment later; let it finish while the loop still runs, or it raises "Event loop is
    # closed" in a thread during a later test.
    await asyncio.to_thread(_join_aiosqlite_threads)


def _join_aiosqlite_threads() -> None:
    for thread in threading.enumerate():
        if "_connection_worker_thread" in thread.name:
            thread.join(5)


async def test_database_down_answers_503_not_500(tmp_path: Path) -> None:
    from orderchat.identity import issue_token

    url = f"postgresql://postgres@127.0.0.1:{closed_port()}/orderchat"
    settings = Settings(
        data_dir=tmp_path, database_url=url, jwt_secret=TEST_SECRET, auto_migrate=False
    )
    application = create_app(settings)
    svc = issue_token(TEST_SECRET, sub="6a2f41a3-c54c-4c1e-a3a1-5b2c0f1a2b3c", role="service")
    adm = issue_token(TEST_SECRET, sub="6a2f41a3-c54c-4c1e-a3a1-5b2c0f1a2b3d", role="admin")
    oid = "0b1d2c3e-4f5a-4b6c-8d7e-9f0a1b2c3d4e"
    async with application.router.lifespan_context(application):
        transport = httpx.ASGITransport(app=application)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:
            body = {"eventType": "order.cancelled", "orderId": oid}
            resp = await c.post("/v1/events", json=body, headers=auth(svc))
            assert resp.status_code == 503 and resp.json()["code"] == "UNAVAILABLE"
            for path in (f"/v1/rooms/{oid}", f"/v1/rooms/{oid}/messages", "/v1/admin/rooms"):
                resp = await c.get(path, headers=auth(adm))
                assert resp.status_code == 503, (path, resp.text)
                assert resp.json()["code"] == "UNAVAILABLE"
