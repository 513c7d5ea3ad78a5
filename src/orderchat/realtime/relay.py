"""This instance's side of the fan-out: which rooms it listens to, what it publishes, and
what it does with the other instances' payloads.

Payloads are orjson objects tagged with the instance id (``i``, always the first key, so
an own echo is recognised by its first bytes and dropped unparsed) and the room (``o``);
``t`` is the kind: ``m`` a stored message (``m``: its wire form), ``f``
a ready frame for every connection (typing, read), ``c`` a room change (see
``local.apply_changes``), ``s`` the room's last seq re-announced (``s``).
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from typing import Any

import orjson

from orderchat.realtime.fanout import Fanout, LocalFanout
from orderchat.realtime.local import LocalRoom, apply_changes, push_all
from orderchat.realtime.protocol import encode

log = logging.getLogger("orderchat.realtime")

SUBSCRIBE_TIMEOUT_SECONDS = 3.0
TAIL_DELAY_SECONDS = 1.0


class Relay:
    def __init__(self, fanout: Fanout, rooms: dict[uuid.UUID, LocalRoom]) -> None:
        self.fanout = fanout
        self.instance_id = uuid.uuid4().hex
        # how every payload of this instance begins (orjson keeps the keys' order)
        self._echo = b'{"i":"' + self.instance_id.encode() + b'"'
        self._rooms = rooms  # the hub's live rooms (shared, never replaced)
        self._subscribed: set[uuid.UUID] = set()
        # one lock per room while a (un)subscribe of it runs, with its number of users
        self._sub_locks: dict[uuid.UUID, tuple[asyncio.Lock, int]] = {}
        self._tails: dict[uuid.UUID, int] = {}  # rooms with a tail re-announcement pending

    # --- subscriptions --------------------------------------------------------------------

    async def sync(self, order_id: uuid.UUID) -> None:
        """Make the room's subscription match whether this instance has connections to it.

        Serialised per room (a slow subscribe of one room never delays another's)."""
        lock, users = self._sub_locks.get(order_id, (asyncio.Lock(), 0))
        self._sub_locks[order_id] = (lock, users + 1)
        try:
            async with lock:
                await self._sync_locked(order_id)
        finally:
            lock, users = self._sub_locks[order_id]
            if users > 1:
                self._sub_locks[order_id] = (lock, users - 1)
            else:
                del self._sub_locks[order_id]

    async def _sync_locked(self, order_id: uuid.UUID) -> None:
        want = order_id in self._rooms
        have = order_id in self._subscribed
        try:
            if want and not have:
                self._subscribed.add(order_id)
                await asyncio.wait_for(
                    self.fanout.subscribe(str(order_id), self.on_payload),
                    SUBSCRIBE_TIMEOUT_SECONDS,
                )
            elif have and not want:
                self._subscribed.discard(order_id)
                await asyncio.wait_for(
                    self.fanout.unsubscribe(str(order_id)), SUBSCRIBE_TIMEOUT_SECONDS
                )
        except Exception as error:  # the fan-out catches up by itself (on_reconnect)
            log.warning("fan-out (un)subscribe failed order=%s: %r", order_id, error)

    # --- publishing -----------------------------------------------------------------------

    def publish(self, order_id: uuid.UUID, payload: dict[str, Any]) -> None:
        room = str(order_id)
        tagged = {"i": self.instance_id, "o": room, **payload}
        tagged["i"], tagged["o"] = self.instance_id, room  # ours, whatever payload held
        try:
            self.fanout.publish(room, orjson.dumps(tagged))
        except Exception as error:  # publish must never break the send path
            log.warning("fan-out publish failed: %r", error)

    def announce_tail(self, order_id: uuid.UUID, seq: int) -> None:
        """A second later, tell the other instances the room's last seq again (once per
        room per second at most): a message whose own payload was lost in the fan-out is
        then fetched from the store even when no later message reveals the hole."""
        if isinstance(self.fanout, LocalFanout):
            return
        pending = order_id in self._tails
        self._tails[order_id] = max(seq, self._tails.get(order_id, 0))
        if not pending:
            asyncio.get_running_loop().call_later(TAIL_DELAY_SECONDS, self._send_tail, order_id)

    def _send_tail(self, order_id: uuid.UUID) -> None:
        seq = self._tails.pop(order_id, None)
        if seq is not None:
            self.publish(order_id, {"t": "s", "s": seq})

    # --- receiving --------------------------------------------------------------------------

    def on_payload(self, raw: bytes) -> None:
        if raw.startswith(self._echo):  # our own, back from the fan-out
            return
        try:
            payload = orjson.loads(raw)
            if payload.get("i") == self.instance_id:
                return
            order_id = uuid.UUID(payload["o"])
            kind = payload["t"]
        except (orjson.JSONDecodeError, KeyError, ValueError, TypeError, AttributeError):
            log.warning("fan-out payload ignored: not one of ours")
            return
        room = self._rooms.get(order_id)
        if room is None:
            return
        if kind == "m":
            wire = payload["m"]
            frame = encode("newMessage", wire)
            for conn in room.conns:
                conn.outbox.offer(int(wire["seq"]), frame)
        elif kind == "f":
            push_all(room, payload["f"])
        elif kind == "s":
            for conn in room.conns:
                conn.outbox.expect(int(payload["s"]))
        elif kind == "c":
            apply_changes(room, payload)
