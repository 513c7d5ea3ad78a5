"""Store: the repositories over one Database."""

from __future__ import annotations

from orderchat.store.audit import AuditStore
from orderchat.store.db import Database
from orderchat.store.messages import MessageStore
from orderchat.store.migrate import upgrade
from orderchat.store.rooms import RoomStore


class Store:
    def __init__(self, db: Database) -> None:
        self.db = db
        self.rooms = RoomStore(db)
        self.messages = MessageStore(db)
        self.audit = AuditStore(db)

    @classmethod
    def from_url(cls, url: str) -> Store:
        return cls(Database(url))

    async def migrate(self) -> None:
        await upgrade(self.db)

    async def close(self) -> None:
        await self.db.close()
