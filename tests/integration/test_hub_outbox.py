"""The ordered outbox on its own: any arrival order gives seq order with no gap/duplicate."""

from __future__ import annotations

import asyncio
import random

import orjson
import pytest

from orderchat.realtime.outbox import Outbox


class Sink:
    """The outbox's Wire, with a socket's flow control: with ``window`` set, the socket
    pauses after that many frames and resumes on the next loop turn (a client reading
    slowly); with ``block`` set, it pauses and never resumes (a client that stopped)."""

    def __init__(self) -> None:
        self.frames: list[str] = []
        self.closed: tuple[int, str] | None = None
        self.closing_called = False
        self.got = asyncio.Event()
        self.block = False
        self.window: int | None = None
        self.box: Outbox | None = None
        self._since_pause = 0

    def send_text(self, text: str) -> None:
        self.frames.append(text)
        self.got.set()
        assert self.box is not None
        if self.block:
            self.box.pause()
        elif self.window is not None:
            self._since_pause += 1
            if self._since_pause >= self.window:
                self._since_pause = 0
                self.box.pause()
                asyncio.get_running_loop().call_soon(self.box.resume)

    def send_close(self, code: int, reason: str) -> None:
        self.closed = (code, reason)
        self.got.set()

    def closing(self) -> None:
        self.closing_called = True

    def seqs(self) -> list[tuple[str, int]]:
        out = []
        for text in self.frames:
            frame = orjson.loads(text)
            if "seq" in frame["data"]:
                out.append((frame["event"], frame["data"]["seq"]))
        return out

    async def wait_for(self, count: int) -> None:
        async with asyncio.timeout(10):
            while len(self.seqs()) < count:
                self.got.clear()
                await self.got.wait()


def msg(seq: int, event: str = "newMessage", **extra: object) -> str:
    return orjson.dumps({"event": event, "data": {"seq": seq, **extra}}).decode()


def make(sink: Sink, store: dict[int, str], inflight: list[int] | None = None) -> Outbox:
    fetches: list[int] = []

    async def fetch(after: int, limit: int) -> list[tuple[int, str]]:
        fetches.append(after)
        return [(s, store[s]) for s in sorted(store) if s > after][:limit]

    box = Outbox(sink, fetch=fetch, inflight=lambda: (inflight or [0])[0], max_queue=50)
    sink.box = box
    box.fetches = fetches  # type: ignore[attr-defined]
    return box


@pytest.mark.parametrize("seed", range(5))
async def test_any_order_and_duplicates_give_seq_order(seed: int) -> None:
    rng = random.Random(seed)
    store = {s: msg(s) for s in range(1, 41)}
    sink = Sink()
    box = make(sink, store, [1])  # "a send is in flight": holes wait for offers first
    box.start(msg(0, "connected"), 0, 0)
    offers = list(range(1, 41)) * 2
    rng.shuffle(offers)
    for seq in offers:
        box.offer(seq, store[seq])
        if rng.random() < 0.3:
            await asyncio.sleep(0)
    await sink.wait_for(41)
    assert sink.seqs() == [("connected", 0)] + [("newMessage", s) for s in range(1, 41)]
    assert box.fetches == []  # type: ignore[attr-defined]
    box.lost()


async def test_hole_is_filled_from_the_store_when_nothing_is_in_flight() -> None:
    store = {s: msg(s) for s in range(1, 6)}
    sink = Sink()
    box = make(sink, store)
    box.start(msg(0, "connected"), 2, 2)
    box.offer(5, store[5])  # 3 and 4 were missed (a dropped fan-out payload)
    await sink.wait_for(4)
    assert [s for _e, s in sink.seqs()[1:]] == [3, 4, 5]
    assert box.fetches == [2]  # type: ignore[attr-defined]
    box.lost()


async def test_resume_backlog_then_live_without_gap() -> None:
    store = {s: msg(s) for s in range(1, 8)}
    sink = Sink()
    box = make(sink, store)
    box.offer(7, store[7])  # live, before the start: held
    box.offer(2, store[2])  # at or before the starting point: dropped
    box.start(msg(3, "connected"), 3, 6)
    await sink.wait_for(5)
    assert sink.seqs() == [("connected", 3)] + [("newMessage", s) for s in (4, 5, 6, 7)]
    box.lost()


async def test_ack_wins_and_duplicate_acks() -> None:
    store = {s: msg(s) for s in range(1, 5)}
    sink = Sink()
    box = make(sink, store, [1])
    box.start(msg(0, "connected"), 0, 0)
    box.offer(2, msg(2, "messageAck", duplicate=False), ack=True)  # held behind 1
    box.offer(2, store[2])  # a newMessage for the same seq never replaces the ack
    box.offer(1, store[1])
    await sink.wait_for(3)
    # a duplicate ack for a delivered seq goes out of band; one not yet delivered in band
    box.offer(1, msg(1, "messageAck", duplicate=True), ack=True, duplicate=True)
    box.offer(4, msg(4, "messageAck", duplicate=True), ack=True, duplicate=True)
    box.offer(3, store[3])
    await sink.wait_for(6)
    assert sink.seqs()[1:] == [
        ("newMessage", 1),
        ("messageAck", 2),
        ("messageAck", 1),
        ("newMessage", 3),
        ("messageAck", 4),
    ]
    box.lost()


async def test_long_backlog_is_read_as_fast_as_the_client_takes_it() -> None:
    store = {s: msg(s) for s in range(1, 1001)}
    sink = Sink()
    sink.window = 7  # the socket pauses every 7 frames
    box = make(sink, store)  # a queue of at most 50 frames
    box.start(msg(0, "connected"), 0, 1000)
    await sink.wait_for(1001)
    assert box.closing is None
    assert [s for _e, s in sink.seqs()[1:]] == list(range(1, 1001))
    assert len(box.fetches) >= 1000 // 12  # type: ignore[attr-defined]
    box.lost()


async def test_slow_client_is_closed_1008_not_buffered_forever() -> None:
    sink = Sink()
    box = make(sink, {})
    box.start(msg(0, "connected"), 0, 0)
    sink.block = True
    box.offer(1, msg(1))  # written; the socket's buffer is now full
    for seq in range(2, 200):
        box.offer(seq, msg(seq))
    assert box.closing is not None and box.closing.code == 1008
    assert sink.closing_called  # the wire ends the socket within its grace time
    assert sink.closed is None  # the close frame waits behind the full buffer
    assert [s for _e, s in sink.seqs()] == [0, 1]
    box.lost()
    assert box.done.is_set()


async def test_frames_wait_while_paused_and_go_in_order_on_resume() -> None:
    sink = Sink()
    box = make(sink, {})
    box.start(msg(0, "connected"), 0, 0)
    box.pause()
    for seq in range(1, 11):
        box.offer(seq, msg(seq))
    box.close(1000, "bye")
    assert sink.seqs() == [("connected", 0)] and sink.closed is None
    box.resume()
    assert [s for _e, s in sink.seqs()] == list(range(11))
    assert sink.closed == (1000, "bye")  # the close went after every queued frame
