"""The service on the embedded default, in this process: SQLite in a temporary directory,
in-process fan-out, events over HTTP, a generated secret, a free loopback port."""

from __future__ import annotations

import asyncio
import secrets
import socket
import tempfile
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from pathlib import Path

import uvicorn

from orderchat.app import build_services
from orderchat.config import Settings
from orderchat.server import uvicorn_config


class _Server(uvicorn.Server):
    @contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield  # Ctrl-C belongs to the demo (asyncio.run cancels it), not to this server


@dataclass(frozen=True)
class Target:
    """Where the demo plays: a base URL and how to sign tokens for it."""

    url: str
    secret: str
    issuer: str | None = None
    audience: str | None = None


def embedded_settings(data_dir: Path, secret: str) -> Settings:
    """Production-shape variables of the environment do not apply to the demo's server."""
    return Settings(
        host="127.0.0.1",
        port=0,
        data_dir=data_dir,
        database_url=None,
        redis_url=None,
        sqs_queue_url=None,
        jwt_secret=secret,
        jwt_public_key=None,
        jwks_url=None,
        jwt_issuer=None,
        jwt_audience=None,
        allowed_origins=None,
        auto_migrate=True,
        log_level="warning",
    )


@asynccontextmanager
async def embedded_server() -> AsyncIterator[Target]:
    """Serve until the block ends; yields its URL and secret."""
    with tempfile.TemporaryDirectory(prefix="orderchat-demo-") as tmp:
        secret = secrets.token_urlsafe(48)
        settings = embedded_settings(Path(tmp), secret)
        server = _Server(uvicorn_config(settings, build_services(settings)))
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))  # a free port, held from now on: no race for it
        port = sock.getsockname()[1]
        task = asyncio.ensure_future(server.serve(sockets=[sock]))
        try:
            # uvicorn has no "started" event to await; its flag is set once it listens
            while not server.started:
                if task.done():
                    task.result()  # startup failed: raise why
                    raise RuntimeError("the embedded server stopped during startup")
                await asyncio.sleep(0.02)
            yield Target(url=f"http://127.0.0.1:{port}", secret=secret)
        finally:
            server.should_exit = True
            await task
            sock.close()
