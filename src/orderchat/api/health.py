"""Liveness, readiness and metrics for load balancers and monitoring."""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST

from orderchat.api.deps import ServicesDep

router = APIRouter(tags=["health"])


@router.get("/healthz")
async def healthz() -> Any:
    return {"status": "ok"}


# HEAD answers like GET without a body (uptime monitors and some load balancers probe
# with HEAD; FastAPI does not add it to GET routes). Kept out of the OpenAPI document.
@router.head("/healthz", include_in_schema=False)
async def healthz_head() -> Response:
    return Response(status_code=200)


@router.head("/readyz", include_in_schema=False)
async def readyz_head(services: ServicesDep) -> Response:
    ready: JSONResponse = await readyz(services)
    return Response(status_code=ready.status_code)


@router.get("/readyz")
async def readyz(services: ServicesDep) -> Any:
    names = list(services.readiness)
    results = await asyncio.gather(
        *(asyncio.wait_for(services.readiness[n](), 3.0) for n in names), return_exceptions=True
    )
    checks = {n: "ok" if r is None else "failed" for n, r in zip(names, results, strict=True)}
    failed = [n for n, state in checks.items() if state != "ok"]
    body = {"status": "ok" if not failed else "unavailable", "checks": checks, "failed": failed}
    return JSONResponse(body, status_code=200 if not failed else 503)


@router.get("/metrics")
async def metrics(services: ServicesDep) -> Response:
    return Response(services.metrics.render(), media_type=CONTENT_TYPE_LATEST)
