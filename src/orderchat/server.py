"""Run the app under uvicorn; on SIGTERM stop accepting, drain, then close sockets with 1001."""

from __future__ import annotations

import asyncio
import ctypes
import logging
import socket

import sqlalchemy.exc
import uvicorn

from orderchat.app import build_services, create_app
from orderchat.config import Settings
from orderchat.errors import ConfigError, UnavailableError
from orderchat.gcpolicy import GcPolicy
from orderchat.logsetup import setup_logging
from orderchat.realtime.admission import HandshakeGate
from orderchat.realtime.gateway import Gateway
from orderchat.realtime.wire import MAX_FRAME_BYTES, protocol_for
from orderchat.services import Services
from orderchat.store import Store

log = logging.getLogger("orderchat")


class _Server(uvicorn.Server):
    """uvicorn closes open WebSockets with 1012 on shutdown; SPEC asks for 1001.

    So before uvicorn's own shutdown runs, stop accepting and let the app close its
    connections (flushing acks first) with 1001.
    """

    def __init__(self, config: uvicorn.Config, services: Services) -> None:
        super().__init__(config)
        self._services = services

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        for server in self.servers:
            server.close()
        for hook in self._services.extras.get("before_shutdown", []):
            try:
                await asyncio.wait_for(hook(), self._services.settings.shutdown_grace_seconds)
            except Exception:
                log.exception("shutdown hook failed")
        await super().shutdown(sockets)


def uvicorn_config(settings: Settings, services: Services) -> uvicorn.Config:
    app = create_app(settings, services)
    gateway: Gateway = services.extras["gateway"]
    return uvicorn.Config(
        app,
        host=settings.host,
        port=settings.port,
        # /chat upgrades: our own protocol over websockets' sans-I/O layer (wire.py),
        # with its own keepalive (ws_ping_interval/ws_ping_timeout)
        ws=protocol_for(
            gateway,
            settings.ws_ping_interval,
            settings.ws_ping_timeout,
            HandshakeGate(
                settings.handshake_concurrency,
                settings.handshake_queue,
                settings.handshake_retry_after,
            ),
        ),
        ws_max_size=MAX_FRAME_BYTES,
        ws_per_message_deflate=False,
        access_log=False,
        log_config=None,
        proxy_headers=False,
        server_header=False,
        timeout_graceful_shutdown=int(settings.shutdown_grace_seconds) + 1,
    )


def _migrate_first(settings: Settings) -> None:
    """Apply migrations before listening, so a database problem is one clear line."""

    async def run() -> None:
        store = Store.from_url(settings.effective_database_url)
        try:
            await store.migrate()
        finally:
            await store.close()

    try:
        asyncio.run(run())
    except UnavailableError:
        raise ConfigError("ORDERCHAT_DATABASE_URL: the database does not answer") from None
    except sqlalchemy.exc.DBAPIError as err:
        reason = str(err.orig).splitlines()[0] if err.orig is not None else type(err).__name__
        raise ConfigError(f"ORDERCHAT_DATABASE_URL: {reason}") from None


def _one_malloc_arena() -> None:
    """glibc gives a thread that allocates its own malloc arena; the SQLite driver's
    worker thread then fragments a second heap, and idle connections cost more (5,000
    on SQLite: 18.4 -> 15.6 KiB each with one arena). What ``MALLOC_ARENA_MAX=1`` does,
    set before any thread starts; this process's few threads never contend much."""
    try:
        libc = ctypes.CDLL("libc.so.6")
    except OSError:
        return  # not glibc: nothing to tune
    m_arena_max = -8  # <malloc.h> M_ARENA_MAX
    libc.mallopt(m_arena_max, 1)


def serve(settings: Settings) -> int:
    _one_malloc_arena()
    setup_logging(settings.log_level, settings.log_format)
    if settings.auto_migrate:
        _migrate_first(settings)
        settings = settings.model_copy(update={"auto_migrate": False})
    services = build_services(settings)
    config = uvicorn_config(settings, services)
    gc_policy = GcPolicy()  # gcpolicy.py: full collections on a timer, not on growth
    services.extras.setdefault("startup", []).append(gc_policy.start)
    services.extras.setdefault("shutdown", []).insert(0, gc_policy.stop)
    server = _Server(config, services)
    log.info("listening on http://%s:%s", settings.host, settings.port)
    server.run()
    return 0
