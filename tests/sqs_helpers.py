"""A moto server (the local SNS/SQS) and the order-events resources, made as infra would.

`moto_server` starts ``python -m moto.server`` on a free loopback port once per test
session; `sqs_infra` creates, per test, a fresh SNS topic ``order-events-<n>``, its queue
and dead-letter queue (RedrivePolicy, short VisibilityTimeout), the queue policy allowing
the topic, and the SNS→SQS subscription (raw delivery or the SNS envelope). Publishing
goes through SNS with the ``eventType`` message attribute, as the Order service does.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import httpx
import pytest

from tests.procs import free_port, stop_process

REGION = "us-east-1"
DUMMY_AWS_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": REGION,
}


@pytest.fixture(scope="session")
def moto_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The endpoint URL of a moto server of this session's own."""
    port = free_port()
    log_path: Path = tmp_path_factory.mktemp("moto") / "moto.log"
    env = {**os.environ, **DUMMY_AWS_ENV}
    with log_path.open("wb") as log_file:
        proc = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
            stdout=log_file,
            stderr=subprocess.STDOUT,
            env=env,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            if proc.poll() is not None:
                pytest.fail(f"moto server exited: {log_path.read_text(errors='replace')}")
            try:
                if httpx.get(f"{url}/moto-api/", timeout=1).status_code < 500:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                pytest.fail("moto server did not start within 30 s")
            time.sleep(0.1)
        yield url
    finally:
        stop_process(proc)


@pytest.fixture
def aws_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in DUMMY_AWS_ENV.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    monkeypatch.delenv("AWS_REGION", raising=False)


@dataclass
class SqsInfra:
    endpoint: str
    topic_arn: str
    queue_url: str
    dlq_url: str
    sns: Any = field(repr=False)
    sqs: Any = field(repr=False)

    def publish(self, event_type: str | None, payload: Any, *, raw_text: str | None = None) -> None:
        """Publish through SNS like the Order service (eventType as a message attribute)."""
        kwargs: dict[str, Any] = {
            "TopicArn": self.topic_arn,
            "Message": raw_text if raw_text is not None else json.dumps(payload),
        }
        if event_type is not None:
            kwargs["MessageAttributes"] = {
                "eventType": {"DataType": "String", "StringValue": event_type}
            }
        self.sns.publish(**kwargs)

    def send_direct(self, body: str) -> None:
        self.sqs.send_message(QueueUrl=self.queue_url, MessageBody=body)

    def counts(self, queue_url: str | None = None) -> tuple[int, int]:
        """(visible, in flight) messages of the queue (default: the main one)."""
        attrs = self.sqs.get_queue_attributes(
            QueueUrl=queue_url or self.queue_url,
            AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
        )["Attributes"]
        return (
            int(attrs["ApproximateNumberOfMessages"]),
            int(attrs["ApproximateNumberOfMessagesNotVisible"]),
        )

    def drain_dlq(self, expected: int, timeout: float = 20.0) -> list[dict[str, Any]]:
        """Long-poll the DLQ until `expected` messages were read (or the timeout)."""
        got: dict[str, dict[str, Any]] = {}
        deadline = time.monotonic() + timeout
        while len(got) < expected and time.monotonic() < deadline:
            resp = self.sqs.receive_message(
                QueueUrl=self.dlq_url,
                MaxNumberOfMessages=10,
                WaitTimeSeconds=2,
                VisibilityTimeout=60,
                MessageAttributeNames=["All"],
            )
            for m in resp.get("Messages", []):
                got[m["MessageId"]] = m
        return list(got.values())

    def close(self) -> None:
        self.sns.close()
        self.sqs.close()


def create_infra(
    endpoint: str, *, raw: bool = False, max_receive_count: int = 2, visibility: int = 1
) -> SqsInfra:
    """Topic, DLQ, queue with RedrivePolicy, queue policy and subscription, as infra would."""
    suffix = uuid.uuid4().hex[:10]
    sns = boto3.client("sns", region_name=REGION, endpoint_url=endpoint)
    sqs = boto3.client("sqs", region_name=REGION, endpoint_url=endpoint)
    topic_arn = sns.create_topic(Name=f"order-events-{suffix}")["TopicArn"]
    dlq_url = sqs.create_queue(
        QueueName=f"orderchat-events-dlq-{suffix}",
        Attributes={"MessageRetentionPeriod": "1209600"},
    )["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    queue_url = sqs.create_queue(
        QueueName=f"orderchat-events-{suffix}",
        Attributes={
            "VisibilityTimeout": str(visibility),
            "RedrivePolicy": json.dumps(
                {"deadLetterTargetArn": dlq_arn, "maxReceiveCount": str(max_receive_count)}
            ),
        },
    )["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])[
        "Attributes"
    ]["QueueArn"]
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "AllowOrderEventsTopic",
                "Effect": "Allow",
                "Principal": {"Service": "sns.amazonaws.com"},
                "Action": "sqs:SendMessage",
                "Resource": queue_arn,
                "Condition": {"ArnEquals": {"aws:SourceArn": topic_arn}},
            }
        ],
    }
    sqs.set_queue_attributes(QueueUrl=queue_url, Attributes={"Policy": json.dumps(policy)})
    sns.subscribe(
        TopicArn=topic_arn,
        Protocol="sqs",
        Endpoint=queue_arn,
        Attributes={"RawMessageDelivery": "true" if raw else "false"},
        ReturnSubscriptionArn=True,
    )
    return SqsInfra(endpoint, topic_arn, queue_url, dlq_url, sns, sqs)
