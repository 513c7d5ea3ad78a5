"""Helpers for the browser tests: rooms and messages through the public API (sync),
signing pages in, reading what a page shows, and a cuttable proxy on a thread."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine, Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import orjson
from playwright.sync_api import Page, expect
from websockets.sync.client import connect

from tests.conftest import auth
from tests.e2e.conftest import ServerProc
from tests.e2e.ws_support import TIMEOUT, Room, chat_url, tok
from tests.tcp_proxy import TcpProxy

XSS = "<img src=x onerror=alert(1)>"


def post_event(server: ServerProc, event_type: str, **payload: str) -> None:
    body = {"eventType": event_type, **payload}
    resp = httpx.post(
        server.url + "/v1/events", json=body, headers=auth(tok("service")), timeout=TIMEOUT
    )
    assert resp.status_code == 200, resp.text


def open_room(server: ServerProc) -> Room:
    import uuid

    room = Room(str(uuid.uuid4()), str(uuid.uuid4()), str(uuid.uuid4()))
    post_event(
        server,
        "order.accepted",
        orderId=room.order_id,
        customerId=room.customer,
        vendorId=room.vendor,
    )
    return room


def send_messages(server: ServerProc, order_id: str, token: str, *texts: str) -> list[int]:
    """Send over a real WebSocket (a native client); the seqs acked."""
    seqs = []
    with connect(
        chat_url(server, order_id), additional_headers=auth(token), open_timeout=TIMEOUT
    ) as ws:
        assert orjson.loads(ws.recv(TIMEOUT))["event"] == "connected"
        for text in texts:
            ws.send(orjson.dumps({"event": "sendMessage", "data": {"message": text}}).decode())
            while (frame := orjson.loads(ws.recv(TIMEOUT)))["event"] != "messageAck":
                assert frame["event"] != "error", frame
            seqs.append(frame["data"]["seq"])
    return seqs


def join_chat(page: Page, base_url: str, token: str, order_id: str) -> None:
    """Open /app (no slash: the redirect is part of the path), sign in, wait until live."""
    page.goto(base_url + "/app")
    page.fill("#token", token)
    page.fill("#order-id", order_id)
    page.click("#join")
    expect(page.locator("#status")).to_have_attribute("data-status", "live")


def write(page: Page, text: str) -> None:
    page.fill("#composer-input", text)
    page.press("#composer-input", "Enter")


def shown(page: Page) -> list[tuple[int, str]]:
    """(seq, text) of every stored message the page shows, in page order."""
    rows: list[list[Any]] = page.eval_on_selector_all(
        "#messages .msg",
        "els => els.map(e => [Number(e.dataset.seq), e.querySelector('.text').textContent])",
    )
    return [(int(seq), str(text)) for seq, text in rows]


def assert_token_kept_out_of_urls(urls: list[str], page: Page, *tokens: str) -> None:
    assert urls, "the page made no request"
    for t in tokens:
        assert all(t not in url for url in urls), "a token appeared in a URL"
        assert t not in page.url


class ThreadedProxy:
    """tests/tcp_proxy.TcpProxy on an event loop of its own thread (the tests are sync)."""

    def __init__(self, target_port: int) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.proxy = TcpProxy("127.0.0.1", target_port)

    def _run(self, coro: Coroutine[Any, Any, None]) -> None:
        asyncio.run_coroutine_threadsafe(coro, self.loop).result(TIMEOUT)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.proxy.port}"

    def start(self) -> None:
        self._run(self.proxy.start())

    def cut(self) -> None:
        self._run(self.proxy.close())

    def shutdown(self) -> None:
        self.cut()
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(TIMEOUT)
        self.loop.close()


@contextmanager
def proxy_to(server: ServerProc) -> Iterator[ThreadedProxy]:
    proxy = ThreadedProxy(server.port)
    proxy.start()
    try:
        yield proxy
    finally:
        proxy.shutdown()
