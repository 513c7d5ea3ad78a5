"""Request dependencies: the services and the caller's identity; room access for readers."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import Depends, Request

from orderchat.domain.access import can_read
from orderchat.domain.messages import utcnow_ms
from orderchat.errors import AuthError, ForbiddenError, NotFoundError
from orderchat.identity import Principal, bearer_token
from orderchat.services import Services
from orderchat.store.rooms import RoomView


def get_services(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


ServicesDep = Annotated[Services, Depends(get_services)]


async def get_principal(request: Request, services: ServicesDep) -> Principal:
    if len(request.headers.getlist("authorization")) > 1:
        # ambiguous: a proxy may have checked the other one
        raise AuthError("more than one Authorization header")
    token = bearer_token(request.headers.get("authorization"))
    if token is None:
        raise AuthError("missing bearer token")
    return await services.verifier.verify(token)


PrincipalDep = Annotated[Principal, Depends(get_principal)]


async def require_admin(principal: PrincipalDep) -> Principal:
    if not principal.is_admin:
        raise ForbiddenError("admin only")
    return principal


AdminDep = Annotated[Principal, Depends(require_admin)]


async def readable_room(
    services: Services, principal: Principal, order_id: uuid.UUID, action: str
) -> RoomView:
    """The room if the caller may read it; admins' reads are audited."""
    if principal.role == "service":
        raise ForbiddenError("service tokens may only post events")
    room = await services.store.rooms.get(order_id)
    if not can_read(principal, room):
        raise ForbiddenError("not a participant of this room")
    if principal.is_admin:
        await services.store.audit.record(
            uuid.UUID(principal.user_id), action, order_id, utcnow_ms()
        )
        if room is None:
            raise NotFoundError("no such room")
    assert room is not None
    return room
