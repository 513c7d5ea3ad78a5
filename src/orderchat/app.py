"""create_app(settings): the one place that picks adapters and wires them together."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from orderchat import __version__
from orderchat.api import admin, events, health, rooms
from orderchat.config import Settings
from orderchat.errors import (
    AuthError,
    ForbiddenError,
    InvalidEventError,
    NotFoundError,
    OrderChatError,
    UnavailableError,
)
from orderchat.events.service import EventService
from orderchat.events.sqs import install_sqs_consumer
from orderchat.identity import TokenVerifier
from orderchat.metrics import Metrics
from orderchat.realtime.gateway import install_realtime
from orderchat.realtime.redis_fanout import install_redis_fanout
from orderchat.services import Services
from orderchat.store import Store

log = logging.getLogger("orderchat")

_STATUS: dict[type[OrderChatError], int] = {
    AuthError: 401,
    ForbiddenError: 403,
    NotFoundError: 404,
    InvalidEventError: 400,
    UnavailableError: 503,
}


def _status_for(error: OrderChatError) -> int:
    for cls, status in _STATUS.items():
        if isinstance(error, cls):
            return status
    return 400


def build_services(settings: Settings) -> Services:
    store = Store.from_url(settings.effective_database_url)
    metrics = Metrics()
    services = Services(
        settings=settings,
        store=store,
        verifier=TokenVerifier.from_settings(settings),
        metrics=metrics,
        events=EventService(store, metrics),
    )
    services.readiness["database"] = store.db.ping
    install_sqs_consumer(services)
    install_redis_fanout(services)
    return services


def create_app(settings: Settings, services: Services | None = None) -> FastAPI:
    services = services or build_services(settings)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        if settings.auto_migrate:
            await services.store.migrate()
        for start in services.extras.get("startup", []):
            await start()
        log.info("orderchat %s ready database=%s", __version__, services.store.db.dialect)
        try:
            yield
        finally:
            for stop in reversed(services.extras.get("shutdown", [])):
                await stop()
            await services.store.close()

    app = FastAPI(
        title="orderchat",
        version=__version__,
        summary="Order chat rooms: REST API (the WebSocket protocol is at /chat)",
        lifespan=lifespan,
    )
    app.state.services = services

    @app.exception_handler(OrderChatError)
    async def _domain_error(_request: Request, error: OrderChatError) -> JSONResponse:
        status = _status_for(error)
        body: dict[str, str] = {"code": error.code, "message": error.message}
        if isinstance(error, InvalidEventError):
            body["reason"] = error.message
        headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
        return JSONResponse(body, status_code=status, headers=headers)

    @app.exception_handler(StarletteHTTPException)
    async def _routing_error(_request: Request, error: StarletteHTTPException) -> JSONResponse:
        # unknown path, wrong method...: the same {code, message} shape as every other error
        code = {404: "NOT_FOUND", 405: "METHOD_NOT_ALLOWED"}.get(error.status_code, "HTTP_ERROR")
        return JSONResponse(
            {"code": code, "message": str(error.detail)},
            status_code=error.status_code,
            headers=error.headers,
        )

    @app.exception_handler(RequestValidationError)
    async def _bad_request(_request: Request, error: RequestValidationError) -> JSONResponse:
        first = error.errors()[0]
        where = ".".join(str(p) for p in first.get("loc", ()) if p not in ("query", "path"))
        return JSONResponse(
            {"code": "INVALID_REQUEST", "message": f"{where}: {first.get('msg')}"},
            status_code=400,
        )

    for router in (rooms.router, admin.router, events.router, health.router):
        app.include_router(router)
    install_realtime(app, services)
    _mount_pages(app)
    return app


def _mount_pages(app: FastAPI) -> None:
    """SPEC 7 pages: static files at /app/ and /admin/, their common files at /shared/."""
    web = Path(__file__).parent / "web"
    for name in ("app", "admin"):

        async def to_slash(request: Request, prefix: str = f"/{name}") -> RedirectResponse:
            query = f"?{request.url.query}" if request.url.query else ""
            return RedirectResponse(f"{prefix}/{query}", status_code=308)

        app.add_route(f"/{name}", to_slash, include_in_schema=False)
        app.mount(f"/{name}", StaticFiles(directory=web / name, html=True), name=f"web-{name}")
    app.mount("/shared", StaticFiles(directory=web / "shared"), name="web-shared")
