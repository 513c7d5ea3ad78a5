"""GET /v1/rooms/{orderId} and its messages."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Query

from orderchat.api.deps import PrincipalDep, ServicesDep, readable_room
from orderchat.domain.messages import MAX_SEQ

router = APIRouter(prefix="/v1/rooms", tags=["rooms"])


@router.get("/{orderId}")
async def get_room(orderId: uuid.UUID, principal: PrincipalDep, services: ServicesDep) -> Any:
    room = await readable_room(services, principal, orderId, "read_room")
    return room.to_wire()


@router.get("/{orderId}/messages")
async def get_messages(
    orderId: uuid.UUID,
    principal: PrincipalDep,
    services: ServicesDep,
    afterSeq: Annotated[int | None, Query(ge=0, le=MAX_SEQ)] = None,
    beforeSeq: Annotated[int | None, Query(ge=1, le=MAX_SEQ)] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> Any:
    await readable_room(services, principal, orderId, "read_messages")
    messages, has_more = await services.store.messages.page(
        orderId, after_seq=afterSeq, before_seq=beforeSeq, limit=limit
    )
    return {"messages": [m.to_wire() for m in messages], "hasMore": has_more}
