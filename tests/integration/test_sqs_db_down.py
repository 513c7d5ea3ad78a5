"""PostgreSQL down while SQS events arrive (SPEC 4.3, 9): nothing deleted, applied later.

PostgreSQL only: the database is reached through a TCP proxy (tests/tcp_proxy.py) that
the test closes and reopens. (SQLite has no server to lose; the consumer's handling of
UnavailableError itself is also covered without a database in tests/unit.)
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest

from orderchat.app import build_services, create_app
from orderchat.events.sqs import SqsConsumer
from tests.conftest import _truncate, make_settings
from tests.sqs_helpers import SqsInfra, aws_env, create_infra, moto_server
from tests.tcp_proxy import TcpProxy

__all__ = ["aws_env", "moto_server"]  # fixtures used by name below

WAIT = 20.0


@pytest.fixture
def infra(moto_server: str, aws_env: None) -> Iterator[SqsInfra]:
    made = create_infra(moto_server, max_receive_count=2, visibility=1)
    yield made
    made.close()


async def test_postgresql_down_nothing_deleted_then_processed_when_it_returns(
    tmp_path: Path, postgres_db: str, infra: SqsInfra
) -> None:
    await _truncate(postgres_db)
    target = urlsplit(postgres_db)
    proxy = TcpProxy(target.hostname or "127.0.0.1", target.port or 5432)
    await proxy.start()
    via_proxy = f"postgresql://{target.username}@127.0.0.1:{proxy.port}{target.path}"
    settings = make_settings(
        tmp_path,
        via_proxy,
        sqs_queue_url=infra.queue_url,
        aws_endpoint_url=infra.endpoint,
        sqs_wait_seconds=1,
    )
    services = build_services(settings)
    app = create_app(settings, services)
    consumer = services.extras["sqs"]
    assert isinstance(consumer, SqsConsumer)
    transport = httpx.ASGITransport(app=app)
    try:
        async with (
            app.router.lifespan_context(app),
            httpx.AsyncClient(transport=transport, base_url="http://t") as client,
        ):
            await proxy.close()
            order = {k: str(uuid.uuid4()) for k in ("orderId", "customerId", "vendorId")}
            infra.publish("order.accepted", order)
            # Received, failed with the database down, and the probe failed again since.
            async with asyncio.timeout(WAIT):
                await consumer.stats.wait_until(lambda s: s["unavailable"] >= 2)
            assert consumer.stats["received"] == 1
            assert consumer.stats["handled"] == 0 and consumer.stats["deleted"] == 0
            assert sum(infra.counts()) == 1  # still on the queue (in flight or visible)
            ready = await client.get("/readyz")
            assert ready.status_code == 503 and "database" in ready.json()["failed"]
            assert ready.json()["checks"]["sqs"] == "ok"

            await proxy.start()
            async with asyncio.timeout(WAIT):
                await consumer.stats.wait_until(lambda s: s["deleted"] >= 1)
            room = await services.store.rooms.get(uuid.UUID(order["orderId"]))
            assert room is not None and room.has_participant(order["customerId"], "customer")
            assert consumer.stats["handled"] == 1
            # The outage cost one receive at most: the message was not dead-lettered.
            assert infra.counts() == (0, 0)
            assert infra.counts(infra.dlq_url) == (0, 0)
            assert (await client.get("/readyz")).status_code == 200
    finally:
        await proxy.close()
