"""The bench's picows listener (one per connection): what it does with each frame, a
close from the server, a lost connection and a full socket (no server needed)."""

from __future__ import annotations

import asyncio
import importlib
import sys
import time
from typing import Any, cast

import pytest
from picows import WSCloseCode, WSMsgType, WSTransport
from picows.picows import _make_test_ws_frame

from orderchat.bench.link import Conn, Link
from orderchat.bench.load import OPENED, Load
from orderchat.bench.rooms import Target, new_rooms
from orderchat.bench.schedule import Schedule
from tests.conftest import TEST_SECRET


class FakeTransport:
    """The part of picows' WSTransport a Link uses, recording what it is asked to do."""

    def __init__(self) -> None:
        self.sent: list[tuple[WSMsgType, bytes]] = []
        self.closes: list[tuple[WSCloseCode, bytes | None]] = []
        self.disconnects = 0
        self.is_disconnected = False
        self.is_close_frame_sent = False

    def send(self, msg_type: WSMsgType, message: bytes) -> None:
        self.sent.append((msg_type, message))

    def send_close(self, code: WSCloseCode = WSCloseCode.OK, message: bytes | None = None) -> None:
        self.is_close_frame_sent = True
        self.closes.append((code, message))

    def disconnect(self, graceful: bool = True) -> None:
        self.disconnects += 1


def frame(kind: WSMsgType, payload: bytes, fin: bool = True) -> Any:
    return _make_test_ws_frame(kind, payload, fin, False)


@pytest.fixture
def conn() -> Conn:
    return new_rooms(Target("http://127.0.0.1:1", TEST_SECRET), [0])[0].conns[1]


@pytest.fixture
def transport() -> FakeTransport:
    return FakeTransport()


def connected(conn: Conn, transport: FakeTransport) -> Link:
    link = Link(conn)
    link.on_ws_connected(cast(WSTransport, transport))
    conn.ws = link
    return link


async def test_first_frame_is_the_handshake_and_later_ones_wait_for_the_receiver(
    conn: Conn, transport: FakeTransport
) -> None:
    link = connected(conn, transport)
    ws = cast(WSTransport, transport)
    link.on_ws_frame(ws, frame(WSMsgType.TEXT, b'{"event":"connected"}'))
    link.on_ws_frame(ws, frame(WSMsgType.TEXT, b"early"))
    assert await link.first == b'{"event":"connected"}'
    got: list[tuple[Conn, bytes, float]] = []
    link.attach(lambda c, raw, now: got.append((c, bytes(raw), now)))
    link.on_ws_frame(ws, frame(WSMsgType.TEXT, b"late"))
    assert [(c, raw) for c, raw, _ in got] == [(conn, b"early"), (conn, b"late")]
    assert got[0][2] <= got[1][2]  # each keeps its own arrival time


async def test_a_fragmented_message_is_handed_over_whole(
    conn: Conn, transport: FakeTransport
) -> None:
    link = connected(conn, transport)
    ws = cast(WSTransport, transport)
    got: list[bytes] = []
    link.attach(lambda _c, raw, _now: got.append(bytes(raw)))
    link.on_ws_frame(ws, frame(WSMsgType.TEXT, b'{"event":', fin=False))
    link.on_ws_frame(ws, frame(WSMsgType.CONTINUATION, b'"x",', fin=False))
    assert got == []
    link.on_ws_frame(ws, frame(WSMsgType.CONTINUATION, b'"data":{}}'))
    assert got == [b'{"event":"x","data":{}}']


async def test_a_close_from_the_server_is_answered_and_counts_as_lost(
    conn: Conn, transport: FakeTransport
) -> None:
    link = connected(conn, transport)
    ws = cast(WSTransport, transport)
    link.pause_writing()
    writable = link.writable
    link.on_ws_frame(ws, frame(WSMsgType.CLOSE, b"\x03\xe9going away"))
    assert transport.closes == [(WSCloseCode.GOING_AWAY, b"going away")]
    assert transport.disconnects == 1
    assert not link.send_text(b"{}") and transport.sent == []  # closing: not sent
    link.on_ws_disconnected(ws)
    assert link.lost and conn.lost
    assert writable is not None and writable.done()  # a held sender wakes up to fail
    assert not link.send_text(b"{}") and transport.sent == []
    with pytest.raises(ConnectionResetError):
        await link.first  # never got its connected frame


async def test_closed_by_the_bench_is_not_lost(conn: Conn, transport: FakeTransport) -> None:
    link = connected(conn, transport)
    ws = cast(WSTransport, transport)
    assert link.send_text(b'{"event":"sendMessage"}')
    assert transport.sent == [(WSMsgType.TEXT, b'{"event":"sendMessage"}')]

    async def server_answers() -> None:
        await asyncio.sleep(0.01)
        link.on_ws_frame(ws, frame(WSMsgType.CLOSE, b"\x03\xe8"))
        transport.is_disconnected = True
        link.on_ws_disconnected(ws)

    transport_done = asyncio.get_running_loop().create_future()
    transport.wait_disconnected = lambda: transport_done  # type: ignore[attr-defined]
    answer = asyncio.create_task(server_answers())
    await asyncio.sleep(0)
    closing = asyncio.create_task(link.close())
    await answer
    transport_done.set_result(None)
    await closing
    assert transport.closes == [(WSCloseCode.OK, None)]  # ours; the server's is not echoed
    assert not link.lost and not conn.lost


async def test_a_full_socket_makes_senders_wait_until_it_drains(
    conn: Conn, transport: FakeTransport
) -> None:
    link = connected(conn, transport)
    assert link.writable is None
    link.pause_writing()
    writable = link.writable
    assert writable is not None and not writable.done()
    link.pause_writing()
    assert link.writable is writable  # one wait per pause
    link.resume_writing()
    assert writable.done() and link.writable is None


@pytest.mark.parametrize("module", ["orderchat.bench.link", "orderchat.bench.rooms"])
def test_without_picows_the_bench_says_what_to_install(
    monkeypatch: pytest.MonkeyPatch, module: str
) -> None:
    monkeypatch.setitem(sys.modules, "picows", None)  # as if not installed
    monkeypatch.delitem(sys.modules, module)
    with pytest.raises(ImportError, match=r"pip install 'orderchat\[bench\]'"):
        importlib.import_module(module)


async def test_a_full_socket_holds_the_rooms_sends_and_the_wait_shows_as_send_lag() -> None:
    target = Target("http://127.0.0.1:1", TEST_SECRET)
    room = new_rooms(target, [0])[0]
    transports = [FakeTransport() for _ in room.conns]
    links = [connected(conn, t) for conn, t in zip(room.conns, transports, strict=True)]
    for link in links:
        link.first.set_result(b"{}")  # past the handshake
    schedule = Schedule.for_run(rate=5, rooms=1, seconds=0.8)  # k due at k/5 s
    load = Load(target, schedule, [room], warmup=0.0, progress=[0] * (OPENED + 1))
    load.t0 = time.monotonic()
    links[1].pause_writing()  # the vendor's socket is full: k=1 waits, k=2 behind it
    sending = asyncio.create_task(load._send(room))
    await asyncio.sleep(0.45)
    assert [len(t.sent) for t in transports] == [1, 0, 0]
    links[1].resume_writing()
    for _ in range(100):  # k=1 then k=2 go as soon as it drains
        if transports[2].sent:
            break
        await asyncio.sleep(0.005)
    assert [len(t.sent) for t in transports] == [1, 1, 1]
    links[0].pause_writing()  # k=3 (due 0.6 s), the customer's: lost while it waits
    await asyncio.sleep(0.7 - (time.monotonic() - load.t0))
    links[0].on_ws_disconnected(cast(WSTransport, transports[0]))
    await sending
    assert [len(t.sent) for t in transports] == [1, 1, 1]
    assert (load.result.sent, load.result.send_failed, room.sent) == (3, 1, 3)
    lag = list(load.result.send_lag_ms)
    assert lag[0] < 100 and lag[1] >= 240 and lag[2] >= 40  # held from due time to drain
