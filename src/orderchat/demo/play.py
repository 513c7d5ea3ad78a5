"""The demo's story: one order from accepted to delivered, played by a customer, a vendor
and a rider on `orderchat.client`, with the Order service's events posted over HTTP."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from typing import Any

import httpx

from orderchat.client import ChatClient, ChatClosed, RoomReadOnly
from orderchat.demo.embedded import Target
from orderchat.demo.transcript import Transcript
from orderchat.identity import issue_token

WAIT = 15.0  # seconds a participant waits for what the story expects
CHAT_BEFORE_RIDER = [
    ("customer", "Hi! Could you make the curry extra spicy, please?"),
    ("vendor", "Sure, extra spicy it is. Ready in about 15 minutes."),
    ("customer", "Perfect, thank you!"),
]
CHAT_WITH_RIDER = [
    ("rider", "Picked up your order, on my way. About 10 minutes."),
    ("customer", "Great, please ring the bell when you arrive."),
    ("rider", "At your door now. Enjoy your meal!"),
]
REFUSED_TEXT = "Thanks again, it was delicious!"


class StoryError(Exception):
    """The service did not behave as the story expects."""


class Participant:
    """One simulated client: its connection and everything it received."""

    def __init__(self, role: str, user_id: str, chat: ChatClient) -> None:
        self.role = role
        self.user_id = user_id
        self.chat = chat
        self.messages: list[dict[str, Any]] = []
        self.events: list[tuple[str, dict[str, Any]]] = []
        self._changed = asyncio.Condition()
        self._reader: asyncio.Task[None] | None = None
        self._failure: BaseException | None = None

    async def join(self) -> dict[str, Any]:
        hello = await self.chat.connect()
        self._reader = asyncio.ensure_future(self._read())
        return hello

    async def _read(self) -> None:
        try:
            async for event, data in self.chat:
                if event in ("newMessage", "messageAck"):
                    self.messages.append(data)
                else:
                    self.events.append((event, data))
                async with self._changed:
                    self._changed.notify_all()
        except ChatClosed as closed:
            self._failure = closed
            async with self._changed:
                self._changed.notify_all()

    async def until(self, what: str, done: Callable[[], bool]) -> None:
        async def wait() -> None:
            async with self._changed:
                await self._changed.wait_for(lambda: done() or self._failure is not None)

        try:
            await asyncio.wait_for(wait(), WAIT)
        except TimeoutError:
            raise StoryError(f"the {self.role} did not receive {what}") from None
        if not done():
            raise StoryError(f"the {self.role}'s connection ended: {self._failure}")

    async def until_messages(self, n: int) -> None:
        await self.until(f"message #{n}", lambda: len(self.messages) >= n)

    async def until_event(self, event: str) -> None:
        await self.until(event, lambda: self.saw(event) is not None)

    def saw(self, event: str) -> dict[str, Any] | None:
        return next((data for name, data in self.events if name == event), None)

    async def leave(self) -> None:
        await self.chat.close()
        if self._reader is not None:
            await self._reader


class Story:
    def __init__(self, target: Target, out: Transcript, pace: float) -> None:
        self.target = target
        self.out = out
        self.pace = pace
        self.order_id = str(uuid.uuid4())
        self.ids = {role: str(uuid.uuid4()) for role in ("customer", "vendor", "rider")}
        self.people: dict[str, Participant] = {}
        self.acks: list[dict[str, Any]] = []

    def token(self, role: str, sub: str | None = None) -> str:
        t = self.target
        return issue_token(
            t.secret,
            sub=sub or str(uuid.uuid4()),
            role=role,
            ttl_seconds=3600,
            issuer=t.issuer,
            audience=t.audience,
        )

    async def pause(self) -> None:
        if self.pace > 0:
            await asyncio.sleep(self.pace)  # only so a person can follow it

    async def event(self, http: httpx.AsyncClient, event_type: str, **payload: str) -> None:
        body = {"eventType": event_type, "orderId": self.order_id, **payload}
        resp = await http.post(
            "/v1/events", json=body, headers={"Authorization": f"Bearer {self.token('service')}"}
        )
        if resp.status_code != 200:
            raise StoryError(f"POST /v1/events {event_type}: {resp.status_code} {resp.text}")
        self.out.line("event", f"{event_type} -> {resp.json()['outcome']}")

    async def connect(self, role: str, *, history: bool = False) -> Participant:
        chat = ChatClient(
            self.target.url,
            self.order_id,
            self.token(role, self.ids[role]),
            last_seq=0 if history else None,
            max_attempts=3,
        )
        person = Participant(role, self.ids[role], chat)
        hello = await person.join()
        self.people[role] = person
        state = "read-only" if hello["readOnly"] else "open"
        since = " from lastSeq=0" if history else ""
        self.out.line(role, f"connected{since} (room {state}, last seq {hello['lastSeq']})")
        return person

    async def say(self, role: str, text: str) -> None:
        ack = await self.people[role].chat.send(text)
        self.acks.append(ack)
        seq = int(ack["seq"])
        self.out.message(ack)
        for person in self.people.values():
            await person.until_messages(seq)
        await self.pause()

    async def play(self) -> None:
        try:
            await self._play()
        finally:  # interrupted or failed: leave the server no open connection
            for person in self.people.values():
                await person.chat.close()

    async def _play(self) -> None:
        t = self.out
        t.header(self.target.url, self.order_id, self.ids)
        async with httpx.AsyncClient(base_url=self.target.url, timeout=WAIT) as http:
            await self.event(
                http,
                "order.accepted",
                customerId=self.ids["customer"],
                vendorId=self.ids["vendor"],
            )
            await self.connect("customer")
            await self.connect("vendor")
            for role, text in CHAT_BEFORE_RIDER:
                await self.say(role, text)

            await self.event(http, "order.rider_assigned", riderId=self.ids["rider"])
            for person in list(self.people.values()):
                await person.until_event("participantJoined")
            t.line("rider", "joined the room (participantJoined seen by customer and vendor)")
            rider = await self.connect("rider", history=True)
            before = len(CHAT_BEFORE_RIDER)
            await rider.until_messages(before)
            t.line("rider", f"read the history: {len(rider.messages)} messages")
            for role, text in CHAT_WITH_RIDER:
                await self.say(role, text)

            await self.event(http, "order.delivered", deliveredAt=t.now_rfc3339())
            for person in self.people.values():
                await person.until_event("roomClosed")
            closed = self.people["customer"].saw("roomClosed") or {}
            t.line(
                "room",
                f"closed ({closed.get('reason')}) at {t.clock(str(closed.get('closedAt')))}: "
                "read-only for customer, vendor and rider",
            )
            try:
                await self.people["customer"].chat.send(REFUSED_TEXT)
            except RoomReadOnly as refused:
                t.refused("customer", REFUSED_TEXT, refused.code)
            else:
                raise StoryError("a send after delivery was accepted")
            await self.check(http)
        for role, person in self.people.items():
            await person.leave()
            t.line(role, "disconnected")

    async def check(self, http: httpx.AsyncClient) -> None:
        """Everyone received every message once, in order, and the store holds exactly them."""
        resp = await http.get(
            f"/v1/rooms/{self.order_id}/messages",
            params={"afterSeq": 0, "limit": 200},
            headers={"Authorization": f"Bearer {self.token('customer', self.ids['customer'])}"},
        )
        stored = [m["messageId"] for m in resp.json()["messages"]]
        if stored != [a["messageId"] for a in self.acks]:
            raise StoryError("the stored history differs from the acknowledged messages")
        for person in self.people.values():
            if [m["messageId"] for m in person.messages] != stored:
                raise StoryError(f"the {person.role} did not receive every message in order")
        self.out.line(
            "check",
            f"{len(stored)} messages stored; customer, vendor and rider each received all "
            f"{len(stored)} in seq order; the refused send stored nothing",
        )
