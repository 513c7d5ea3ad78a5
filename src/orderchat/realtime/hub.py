"""The hub: this instance's live rooms, their connections, and every delivery to them.

It delivers to its own connections directly and hands every room payload to the relay
(relay.py) for the other instances; the relay listens to a room's fan-out channel only
while the hub holds a connection to that room. Ordering per connection: outbox.py.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import time
import uuid
from collections.abc import Awaitable
from datetime import datetime
from typing import Any

from orderchat.config import Settings
from orderchat.domain.messages import Message, rfc3339_or_none, utcnow_ms
from orderchat.domain.rooms import RoomChanges
from orderchat.errors import ForbiddenError, UnavailableError
from orderchat.identity import Principal
from orderchat.metrics import Metrics
from orderchat.realtime.fanout import Fanout
from orderchat.realtime.local import Connection, LocalRoom, apply_changes
from orderchat.realtime.outbox import Outbox, Wire
from orderchat.realtime.protocol import encode
from orderchat.realtime.ratelimit import UserLimits
from orderchat.realtime.relay import Relay
from orderchat.services.contact_details import ContactPolicy
from orderchat.store import Store
from orderchat.store.rooms import RoomView, participants_wire

log = logging.getLogger("orderchat.realtime")


class Hub:
    def __init__(self, store: Store, metrics: Metrics, settings: Settings, fanout: Fanout) -> None:
        self.store = store
        self.metrics = metrics
        self.settings = settings
        self.fanout = fanout
        self.rooms: dict[uuid.UUID, LocalRoom] = {}
        self.relay = Relay(fanout, self.rooms)
        self.contact = ContactPolicy(settings, metrics)
        self.draining = False
        self.limits = UserLimits(
            settings.max_connections_per_user, settings.rate_per_second, settings.rate_burst
        )
        self._ids = itertools.count(1)
        self._tasks: set[asyncio.Task[Any]] = set()
        self._idle = asyncio.Event()
        self._idle.set()
        self._inflight_total = 0

    # --- lifecycle --------------------------------------------------------------------

    async def start(self) -> None:
        self.fanout.on_reconnect = self._on_fanout_reconnect

    async def drain(self) -> None:
        """SIGTERM: refuse new sends, let stored sends be acked, close everything with 1001."""
        self.draining = True
        await self._idle.wait()
        conns = [c for room in self.rooms.values() for c in room.conns]
        for conn in conns:
            conn.outbox.close(1001, "server shutting down")
        if conns:
            await asyncio.wait([asyncio.ensure_future(c.outbox.done.wait()) for c in conns])

    async def close(self) -> None:
        self.draining = True
        for room in list(self.rooms.values()):
            for conn in room.conns:
                conn.outbox.close(1001, "server shutting down")
        for task in list(self._tasks):
            task.cancel()

    def _spawn(self, coro: Awaitable[Any]) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # --- connections --------------------------------------------------------------------

    def register(
        self,
        order_id: uuid.UUID,
        principal: Principal,
        wire: Wire,
    ) -> Connection:
        """Join the room's local deliveries at once; ``attach`` and ``stream`` follow."""
        room = self.rooms.get(order_id)
        if room is None:
            room = self.rooms[order_id] = LocalRoom(order_id)
        outbox = Outbox(
            wire,
            fetch=lambda after, limit: self._fetch(order_id, after, limit),
            inflight=lambda: room.inflight,
        )
        conn = Connection(next(self._ids), order_id, principal, outbox)
        room.conns.add(conn)
        self.limits.joined(principal.user_id)
        if self.draining:  # admitted just before the drain began
            outbox.close(1001, "server shutting down")
        return conn

    def forget(self, conn: Connection) -> None:
        """The connection closed: unregister it in the background."""
        self._spawn(self.unregister(conn))

    async def unregister(self, conn: Connection) -> None:
        room = self.rooms.get(conn.order_id)
        if room is not None:
            room.conns.discard(conn)
            self._forget_if_empty(room)
        self.limits.left(conn.user_id)
        self.limits.release(conn.order_id, conn.user_id)
        await self.relay.sync(conn.order_id)

    def _forget_if_empty(self, room: LocalRoom) -> bool:
        """Drop a room without connections once no send to it is in flight (until then,
        a connection joining must share the object that send will deliver to)."""
        if room.conns or room.inflight or self.rooms.get(room.order_id) is not room:
            return False
        del self.rooms[room.order_id]
        return True

    async def attach(self, conn: Connection) -> RoomView | None:
        """Listen to the room's fan-out, then read the room. The connection already
        receives local deliveries (``register``) and, once subscribed, other instances'
        too; the room is read after both, so nothing committed after the read can be
        missed (what arrives twice is dropped by the outbox)."""
        await self.relay.sync(conn.order_id)
        return await self.store.rooms.get(conn.order_id)

    def stream(self, conn: Connection, view: RoomView, last_seq: int | None) -> None:
        """``connected`` first; its ``lastSeq`` is the starting point of the message stream
        (the room's last seq, or ``last_seq`` when resuming, never beyond the room's last)."""
        room = self.room_of(conn)
        room.closed = room.closed or view.read_only
        conn.knows_closed = view.read_only
        start = view.last_seq if last_seq is None else min(last_seq, view.last_seq)
        connected = {
            "orderId": str(view.order_id),
            "readOnly": view.read_only,
            "closedReason": view.closed_reason,
            "participants": participants_wire(view.participants),
            "you": {"userId": conn.user_id, "role": conn.role},
            "lastSeq": start,
        }
        conn.outbox.start(encode("connected", connected), start, view.last_seq)

    def room_of(self, conn: Connection) -> LocalRoom:
        room = self.rooms.get(conn.order_id)
        if room is None:  # only after unregister; keep the object usable
            room = LocalRoom(conn.order_id)
        return room

    def allow_send(self, conn: Connection) -> bool:
        return self.limits.allow_send(conn.user_id)

    async def _fetch(self, order_id: uuid.UUID, after: int, limit: int) -> list[tuple[int, str]]:
        messages = await self.store.messages.after(order_id, after, limit=limit)
        return [(m.seq, encode("newMessage", m.to_wire())) for m in messages]

    # --- sending ------------------------------------------------------------------------

    async def send(
        self, conn: Connection, content: str, client_message_id: str | None
    ) -> tuple[Message, bool]:
        """Store one message and deliver it: ack to ``conn``, newMessage to everyone else."""
        if self.draining:
            raise UnavailableError("server shutting down; retry")
        if conn.revoked:
            raise ForbiddenError("access revoked")
        masked = self.contact.apply(content)  # SPEC 13: contact details masked before stored
        room = self.room_of(conn)
        room.inflight += 1
        self._inflight_total += 1
        self._idle.clear()
        try:
            async with conn.outbox.send_lock:
                started = time.perf_counter()
                try:
                    msg, duplicate = await self.store.messages.append(
                        order_id=conn.order_id,
                        sender_id=uuid.UUID(conn.user_id),
                        sender_role=conn.role,
                        content=masked.text,
                        client_message_id=client_message_id,
                        now=utcnow_ms(),
                    )
                except ForbiddenError:
                    # the store says the sender left the room, whatever this instance
                    # heard from the fan-out: the session answers FORBIDDEN, closes 4403
                    conn.revoked = True
                    raise
                finally:
                    stored = time.perf_counter()
                    self.metrics.message_store_seconds.observe(stored - started)
                if not duplicate:
                    self.contact.stored(masked)
                self._deliver(room, msg, conn, duplicate)
                self.metrics.message_fanout_seconds.observe(time.perf_counter() - stored)
                return msg, duplicate
        finally:
            room.inflight -= 1
            self._inflight_total -= 1
            if self._inflight_total == 0:
                self._idle.set()
            for other in room.conns:
                other.outbox.poke()
            if self._forget_if_empty(room):
                self._spawn(self.relay.sync(room.order_id))

    def _deliver(self, room: LocalRoom, msg: Message, sender: Connection, duplicate: bool) -> None:
        wire = msg.to_wire()
        if not duplicate:
            frame = encode("newMessage", wire)
            for conn in room.conns:
                if conn is not sender:
                    conn.outbox.offer(msg.seq, frame)
            self.relay.publish(room.order_id, {"t": "m", "m": wire})
            self.relay.announce_tail(room.order_id, msg.seq)
        ack = encode("messageAck", {**wire, "duplicate": duplicate})
        sender.outbox.offer(msg.seq, ack, ack=True, duplicate=duplicate)

    # --- ephemeral frames ---------------------------------------------------------------

    def broadcast(self, conn: Connection, event: str, data: dict[str, Any]) -> None:
        """A frame for every other connection of the room, here and on other instances."""
        frame = encode(event, data)
        for other in self.room_of(conn).conns:
            if other is not conn:
                other.outbox.push(frame)
        self.relay.publish(conn.order_id, {"t": "f", "f": frame})

    # --- room life ----------------------------------------------------------------------

    async def room_changed(
        self, order_id: uuid.UUID, changes: RoomChanges, closed_at: datetime | None
    ) -> None:
        """EventService listener: tell live connections here and everywhere else."""
        payload: dict[str, Any] = {
            "t": "c",
            "j": [[str(u), r] for u, r in changes.joined],
            "l": [[str(u), r] for u, r in changes.left],
            "c": changes.closed,
            "at": rfc3339_or_none(closed_at),
        }
        self._apply(order_id, payload)
        self.relay.publish(order_id, payload)

    def _apply(self, order_id: uuid.UUID, change: dict[str, Any]) -> None:
        room = self.rooms.get(order_id)
        if room is not None:
            apply_changes(room, change)

    # --- the fan-out ----------------------------------------------------------------------

    def _on_fanout_reconnect(self) -> None:
        self._spawn(self.resync_all())

    async def resync_all(self) -> None:
        """After a fan-out outage: deliver what each local room missed, from the store."""
        for order_id in list(self.rooms):
            with contextlib.suppress(UnavailableError):
                await self.resync(order_id)

    async def resync(self, order_id: uuid.UUID) -> None:
        view = await self.store.rooms.get(order_id)
        room = self.rooms.get(order_id)
        if view is None or room is None:
            return
        for conn in list(room.conns):
            conn.outbox.expect(view.last_seq)
        if view.read_only and not all(c.knows_closed for c in room.conns):
            at = rfc3339_or_none(view.closed_at)
            self._apply(order_id, {"c": view.closed_reason, "at": at})
        active = {(str(u), r) for u, r in view.participants}
        for conn in list(room.conns):
            if conn.role != "admin" and (conn.user_id, conn.role) not in active:
                self._apply(order_id, {"l": [[conn.user_id, conn.role]]})
