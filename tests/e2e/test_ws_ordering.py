"""SPEC 5.4: on every connection, newMessage/messageAck in strictly increasing seq, no gap,
no duplicate, with many concurrent senders; and lastSeq resume with no gap at the seam."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

from websockets.asyncio.client import ClientConnection

from tests.e2e.conftest import StartServer
from tests.e2e.ws_support import Room, connected, get_json, open_room, recv, send, ws_connect

FAST = {"rate_per_second": "100000", "rate_burst": "100000"}


@dataclass
class Seen:
    start: int
    frames: list[tuple[str, dict[str, Any]]] = field(default_factory=list)

    @property
    def seqs(self) -> list[int]:
        return [d["seq"] for _e, d in self.frames]

    def check_stream(self, last: int) -> None:
        assert self.seqs == list(range(self.start + 1, last + 1)), self.seqs


async def collect(ws: ClientConnection, seen: Seen, last: int) -> None:
    """Message frames until ``last`` has been delivered (duplicate acks are out of band)."""
    while not seen.frames or seen.frames[-1][1]["seq"] < last:
        frame = await recv(ws)
        if frame["event"] in ("newMessage", "messageAck"):
            if frame["event"] == "messageAck" and frame["data"]["duplicate"]:
                continue
            seen.frames.append((frame["event"], frame["data"]))


async def blast(ws: ClientConnection, tag: str, count: int) -> None:
    for i in range(count):
        await send(ws, "sendMessage", {"message": f"{tag} {i}", "clientMessageId": f"{tag}-{i}"})
        if i % 7 == 6:
            await asyncio.sleep(0)  # interleave with the other senders


async def history(server: Any, room: Room) -> list[dict[str, Any]]:
    msgs: list[dict[str, Any]] = []
    while True:
        page = await get_json(
            server,
            f"/v1/rooms/{room.order_id}/messages?afterSeq={len(msgs)}&limit=200",
            room.vendor_token(),
        )
        msgs.extend(page["messages"])
        if not page["hasMore"]:
            return msgs


async def test_concurrent_senders_every_connection_in_order(start_server: StartServer) -> None:
    server = start_server(**FAST)
    room = await open_room(server)
    per_conn, senders = 50, 6
    total = per_conn * senders
    tokens = [room.customer_token(), room.vendor_token()]
    clients = [ws_connect(server, room.order_id, tokens[i % 2]) for i in range(senders)]
    listeners = [ws_connect(server, room.order_id, tokens[i % 2]) for i in range(2)]
    conns = [await c.__aenter__() for c in clients + listeners]
    try:
        seen = [Seen((await connected(ws))["lastSeq"]) for ws in conns]
        assert all(s.start == 0 for s in seen)
        readers = [
            asyncio.ensure_future(collect(ws, s, total)) for ws, s in zip(conns, seen, strict=True)
        ]
        await asyncio.gather(
            *(blast(ws, f"s{i}", per_conn) for i, ws in enumerate(conns[:senders]))
        )
        await asyncio.wait_for(asyncio.gather(*readers), 60)
    finally:
        for c in clients + listeners:
            await c.__aexit__(None, None, None)

    stored = await history(server, room)
    assert [m["seq"] for m in stored] == list(range(1, total + 1))
    by_seq = {m["seq"]: m for m in stored}
    for i, s in enumerate(seen):
        s.check_stream(total)
        acks = [d for e, d in s.frames if e == "messageAck"]
        news = [d for e, d in s.frames if e == "newMessage"]
        if i < senders:  # its own messages come as acks, in the order it sent them
            assert [a["clientMessageId"] for a in acks] == [f"s{i}-{n}" for n in range(per_conn)]
        else:
            assert acks == []
        for data in news:
            assert data == by_seq[data["seq"]]
        for data in acks:
            assert {k: v for k, v in data.items() if k != "duplicate"} == by_seq[data["seq"]]


async def test_resume_with_last_seq_while_others_send(start_server: StartServer) -> None:
    server = start_server(**FAST)
    room = await open_room(server)
    total = 240
    async with (
        ws_connect(server, room.order_id, room.customer_token()) as a,
        ws_connect(server, room.order_id, room.vendor_token()) as b,
    ):
        await connected(a)
        await connected(b)
        seen_a, seen_b = Seen(0), Seen(0)
        readers = asyncio.gather(collect(a, seen_a, total), collect(b, seen_b, total))
        sending = asyncio.ensure_future(
            asyncio.gather(blast(a, "a", total // 2), blast(b, "b", total // 2))
        )
        # a second vendor connection drops out early and resumes mid-stream
        async with ws_connect(server, room.order_id, room.vendor_token()) as c:
            first = Seen((await connected(c))["lastSeq"])
            while len(first.frames) < 10:
                frame = await recv(c)
                if frame["event"] == "newMessage":
                    first.frames.append((frame["event"], frame["data"]))
        resume_at = first.frames[-1][1]["seq"]
        async with ws_connect(server, room.order_id, room.vendor_token(), last_seq=resume_at) as c:
            hello = await connected(c)
            assert hello["lastSeq"] == resume_at
            second = Seen(resume_at)
            await asyncio.wait_for(collect(c, second, total), 60)
        await sending
        await asyncio.wait_for(readers, 60)
    assert first.seqs == list(range(first.start + 1, resume_at + 1))
    second.check_stream(total)
    assert all(e == "newMessage" for e, _ in second.frames)
    seen_a.check_stream(total)
    seen_b.check_stream(total)
    stored = await history(server, room)
    assert [m["seq"] for m in stored] == list(range(1, total + 1))
    assert [d for _e, d in second.frames] == stored[resume_at:]


async def test_resume_from_zero_and_beyond_the_end(start_server: StartServer) -> None:
    server = start_server(**FAST)
    room = await open_room(server)
    async with ws_connect(server, room.order_id, room.customer_token()) as a:
        await connected(a)
        for i in range(5):
            await send(a, "sendMessage", {"message": f"m{i}"})
            assert (await recv(a))["event"] == "messageAck"
    async with ws_connect(server, room.order_id, room.vendor_token(), last_seq=0) as b:
        assert (await connected(b))["lastSeq"] == 0
        assert [(await recv(b))["data"]["seq"] for _ in range(5)] == [1, 2, 3, 4, 5]
    async with ws_connect(server, room.order_id, room.vendor_token(), last_seq=99) as b:
        assert (await connected(b))["lastSeq"] == 5  # clamped: nothing can be skipped
        await send(b, "sendMessage", {"message": "next"})
        assert (await recv(b))["data"]["seq"] == 6
