"""A whole conversation against one server with Redis: every SPEC 8 metric moves, the logs
have a line per connection open/close and per event applied, and no token or message text
appears in them at debug level (SPEC 8, issue 4 point 4)."""

from __future__ import annotations

import asyncio
import re
import uuid
from pathlib import Path

import httpx
import orjson
import pytest
from websockets.exceptions import InvalidStatus

from tests.e2e.conftest import ServerProc, StartServer
from tests.e2e.ws_support import (
    TIMEOUT,
    close_code,
    connected,
    get_json,
    get_text,
    post_event,
    recv_event,
    send,
    tok,
    ws_connect,
)
from tests.redis_server import running_redis

pytestmark = pytest.mark.e2e

SPEC_METRICS = (
    "orderchat_websocket_connections_active",
    "orderchat_websocket_connections_total",
    "orderchat_messages_total",
    "orderchat_message_store_seconds_count",
    "orderchat_message_fanout_seconds_count",
    "orderchat_events_total",
    "orderchat_event_processing_seconds_count",
    "orderchat_backplane_reconnects_total",
)


def sample_sum(text: str, name: str) -> float:
    """The sum of every sample of ``name`` (all label sets) in Prometheus text."""
    total = 0.0
    for line in text.splitlines():
        if line.startswith(name + " ") or line.startswith(name + "{"):
            total += float(line.rsplit(" ", 1)[1])
    return total


async def wait_metric(server: ServerProc, name: str, at_least: float) -> float:
    value = 0.0
    for _ in range(200):
        value = sample_sum(await get_text(server, "/metrics"), name)
        if value >= at_least:
            return value
        await asyncio.sleep(0.05)
    return value


async def test_whole_conversation_moves_every_metric_and_logs_no_secret(
    start_server: StartServer, tmp_path: Path
) -> None:
    with running_redis(tmp_path / "redis") as redis:
        server = start_server(redis_url=redis.url, log_format="json")
        before = await get_text(server, "/metrics")

        order_id, customer, vendor, rider = (str(uuid.uuid4()) for _ in range(4))
        admin = str(uuid.uuid4())
        cust_tok, vend_tok = tok("customer", customer), tok("vendor", vendor)
        rider_tok, admin_tok = tok("rider", rider), tok("admin", admin)
        refreshed = tok("customer", customer, ttl=7200)
        secrets = [cust_tok, vend_tok, rider_tok, admin_tok, refreshed]
        texts = [f"secret-text-{uuid.uuid4().hex}" for _ in range(4)]

        await post_event(
            server, "order.accepted", orderId=order_id, customerId=customer, vendorId=vendor
        )
        await post_event(server, "order.rider_assigned", orderId=order_id, riderId=rider)
        # A token wrongly put in a query string is refused and never logged.
        wrong_url = f"{server.ws_url}/chat?orderId={order_id}&token={cust_tok}"
        async with httpx.AsyncClient(timeout=TIMEOUT) as http:
            await http.get(f"{server.url}/v1/rooms/{order_id}?access_token={vend_tok}")

        async with (
            ws_connect(server, order_id, cust_tok) as c,
            ws_connect(server, order_id, vend_tok, subprotocol=True) as v,
            ws_connect(server, order_id, rider_tok) as r,
            ws_connect(server, order_id, admin_tok) as a,
        ):
            for ws in (c, v, r, a):
                await connected(ws)
            await send(c, "sendMessage", {"message": texts[0], "clientMessageId": "m1"})
            await recv_event(c, "messageAck")
            await send(c, "sendMessage", {"message": texts[0], "clientMessageId": "m1"})
            assert (await recv_event(c, "messageAck"))["duplicate"] is True
            await send(v, "sendMessage", {"message": texts[1]})
            assert (await recv_event(v, "messageAck"))["content"] == texts[1]
            await send(c, "sendMessage", {"message": texts[2] + "x" * 5000})
            assert (await recv_event(c, "error"))["code"] == "MESSAGE_TOO_LONG"
            await send(a, "sendMessage", {"message": texts[3]})
            assert (await recv_event(a, "error"))["code"] == "FORBIDDEN"
            await send(c, "authenticate", {"token": refreshed})
            await send(c, "typing")
            await send(v, "markRead", {"seq": 2})
            await recv_event(c, "read")
            # The backplane drops and comes back during the conversation.
            await asyncio.to_thread(redis.restart)
            assert await wait_metric(server, "orderchat_backplane_reconnects_total", 1) >= 1
            await send(r, "sendMessage", {"message": "on my way"})
            await recv_event(r, "messageAck")
            await post_event(server, "order.rider_unassigned", orderId=order_id, riderId=rider)
            assert await close_code(r) == 4403
            await post_event(
                server,
                "order.delivered",
                orderId=order_id,
                deliveredAt="2026-11-24T05:28:52.123Z",
            )
            await recv_event(c, "roomClosed")
            await send(c, "sendMessage", {"message": texts[3]})
            assert (await recv_event(c, "error"))["code"] == "ROOM_READ_ONLY"
            history = await get_json(server, f"/v1/rooms/{order_id}/messages", admin_tok)
            assert [m["seq"] for m in history["messages"]] == [1, 2, 3]
            during = await get_text(server, "/metrics")
            assert sample_sum(during, "orderchat_websocket_connections_active") == 3

        with pytest.raises(InvalidStatus) as refused:
            async with ws_connect(server, order_id, None, url=wrong_url):
                pass
        assert refused.value.response.status_code == 401

        # 4 accepted upgrades and 1 refused (the query-string token).
        assert await wait_metric(server, "orderchat_websocket_connections_total", 5) == 5
        after_text = await get_text(server, "/metrics")
        for name in SPEC_METRICS:
            if name == "orderchat_websocket_connections_active":
                continue  # checked while the connections were open (3 after the kick)
            assert sample_sum(after_text, name) > sample_sum(before, name), name
        assert server.stop() in (0, -15)

    logs = server.logs()
    for secret in secrets:
        assert secret not in logs
        # Not even a recognisable piece of one (the signature part).
        assert secret.rsplit(".", 1)[1] not in logs
    for text in [*texts, "on my way"]:
        assert text not in logs
    lines = [orjson.loads(line) for line in logs.splitlines() if line.startswith("{")]
    assert [e for e in lines if e["level"] == "error"] == [], "no error in a normal conversation"
    messages = [entry["msg"] for entry in lines]
    opened = [m for m in messages if m.startswith("ws open ")]
    closed = [m for m in messages if m.startswith("ws close ")]
    assert len(opened) == 4 and len(closed) == 4, messages
    assert any(re.search(r"code=4403", m) for m in closed)
    applied = [m for m in messages if m.startswith("event applied ")]
    assert len(applied) == 4, messages  # accepted, rider assigned, unassigned, delivered
    assert all(order_id in m for m in applied)
