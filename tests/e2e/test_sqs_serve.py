"""`orderchat serve` configured only through the environment consumes SNS→SQS events.

ORDERCHAT_SQS_QUEUE_URL / ORDERCHAT_AWS_ENDPOINT_URL and the standard AWS variables
(dummy credentials, AWS_DEFAULT_REGION) are all the process gets; the long poll keeps its
production default (20 s), so SIGTERM must also cut a poll in flight.
"""

from __future__ import annotations

import signal
import time
import uuid
from collections.abc import Iterator

import httpx
import pytest

from orderchat.identity import issue_token
from tests.conftest import TEST_SECRET, auth
from tests.e2e.conftest import StartServer
from tests.sqs_helpers import SqsInfra, aws_env, create_infra, moto_server

__all__ = ["aws_env", "moto_server"]  # fixtures used by name below

pytestmark = pytest.mark.e2e


@pytest.fixture
def infra(moto_server: str, aws_env: None) -> Iterator[SqsInfra]:
    made = create_infra(moto_server)
    yield made
    made.close()


def test_serve_applies_events_from_sqs_and_stops_cleanly(
    start_server: StartServer, infra: SqsInfra
) -> None:
    server = start_server(sqs_queue_url=infra.queue_url, aws_endpoint_url=infra.endpoint)
    ready = httpx.get(server.url + "/readyz", timeout=10)
    assert ready.status_code == 200, ready.text
    assert ready.json()["checks"]["sqs"] == "ok"

    order = {k: str(uuid.uuid4()) for k in ("orderId", "customerId", "vendorId")}
    infra.publish("order.accepted", order)
    headers = auth(issue_token(TEST_SECRET, sub=order["customerId"], role="customer"))
    deadline = time.monotonic() + 20
    while True:  # another process: poll the public API until the room exists
        resp = httpx.get(f"{server.url}/v1/rooms/{order['orderId']}", headers=headers)
        if resp.status_code == 200 or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert resp.status_code == 200, server.logs()
    assert {p["role"] for p in resp.json()["participants"]} == {"customer", "vendor"}
    assert infra.counts() == (0, 0)
    metrics = httpx.get(server.url + "/metrics").text
    assert "orderchat_sqs_consumer_up 1.0" in metrics

    # uvicorn re-raises the SIGTERM it handled once shut down: -15 is a clean stop.
    assert server.stop(signal.SIGTERM) in (0, -signal.SIGTERM), server.logs()
    logs = server.logs()
    assert "sqs consumer stopped" in logs
    assert "sqs consumer error" not in logs
    assert "did not finish" not in logs  # the 20 s poll was cut, not waited out
    assert order["orderId"] in logs  # the event-applied line names the order...
    assert order["customerId"] not in logs  # ...and the payload is never logged
