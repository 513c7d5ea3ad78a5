"""Admin routes: every room with filters, and the audit log."""

from __future__ import annotations

import uuid
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query

from orderchat.api.deps import AdminDep, ServicesDep
from orderchat.domain.messages import utcnow_ms

router = APIRouter(prefix="/v1/admin", tags=["admin"])


@router.get("/rooms")
async def list_rooms(
    admin: AdminDep,
    services: ServicesDep,
    state: Literal["open", "readonly"] | None = None,
    userId: uuid.UUID | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: str | None = None,
) -> Any:
    rooms, next_cursor = await services.store.rooms.list(
        state=state, user_id=userId, limit=limit, cursor=cursor
    )
    await services.store.audit.record(uuid.UUID(admin.user_id), "list_rooms", None, utcnow_ms())
    return {"rooms": [r.to_wire() for r in rooms], "nextCursor": next_cursor}


@router.get("/audit")
async def audit_log(
    admin: AdminDep,
    services: ServicesDep,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: str | None = None,
    orderId: uuid.UUID | None = None,
) -> Any:
    entries, next_cursor = await services.store.audit.list(
        limit=limit, cursor=cursor, order_id=orderId
    )
    return {"entries": entries, "nextCursor": next_cursor}
