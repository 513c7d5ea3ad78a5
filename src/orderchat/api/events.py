"""POST /v1/events: the Order service (or `orderchat publish`) posts one event."""

from __future__ import annotations

from typing import Any

import orjson
from fastapi import APIRouter, Request

from orderchat.api.deps import PrincipalDep, ServicesDep
from orderchat.errors import ForbiddenError, InvalidEventError

router = APIRouter(tags=["events"])

_BODY_DOC: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {
                "schema": {
                    "type": "object",
                    "required": ["eventType", "orderId"],
                    "properties": {
                        "eventType": {"type": "string", "example": "order.accepted"},
                        "orderId": {"type": "string", "format": "uuid"},
                    },
                    "additionalProperties": True,
                }
            }
        },
    }
}


@router.post("/v1/events", openapi_extra=_BODY_DOC)
async def post_event(request: Request, principal: PrincipalDep, services: ServicesDep) -> Any:
    if principal.role != "service":
        raise ForbiddenError("only a service token may post events")
    try:
        body = orjson.loads(await request.body())
    except orjson.JSONDecodeError:
        raise InvalidEventError("body is not valid JSON") from None
    if not isinstance(body, dict):
        raise InvalidEventError("body is not a JSON object")
    outcome = await services.events.handle(body.get("eventType"), body, source="http")
    return {"outcome": outcome}
