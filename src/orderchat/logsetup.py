"""Logging: text or JSON lines. Nothing here ever formats a token or a message's text."""

from __future__ import annotations

import logging
import sys
from datetime import UTC, datetime

import orjson


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return orjson.dumps(entry).decode()


_CONTROL = {c: f"\\x{c:02x}" for c in (*range(0x20), 0x7F)}


class TextFormatter(logging.Formatter):
    """One record, one line: control characters in the message (a newline or an escape
    sequence inside a client-chosen string such as an unknown event type) are escaped,
    so nothing can forge a line. Tracebacks, added after the message, keep their lines."""

    def formatMessage(self, record: logging.LogRecord) -> str:
        record.message = record.message.translate(_CONTROL)
        return super().formatMessage(record)


class _DenialNoise(logging.Filter):
    """uvicorn's websockets-sansio protocol logs "ASGI callable returned without completing
    handshake." at ERROR after every WebSocket denial response (a real 401/403/429 on the
    upgrade, which SPEC 5.1 asks for): its handshake flag is only set on accept. The gateway
    logs each denial itself ("ws denied status=..."), so this line is dropped."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not record.getMessage().startswith("ASGI callable returned without completing")


def setup_logging(level: str = "info", fmt: str = "text") -> None:
    # No formatter here shows the caller, thread or process: skip collecting them for
    # every record (the logging HOWTO's "Optimization"). Looking the caller up also
    # materialises a frame object for every coroutine frame up the stack, which then
    # lives as long as the connection's coroutine (~0.3 KiB per connection).
    logging._srcfile = None
    logging.logThreads = False
    logging.logProcesses = False
    logging.logMultiprocessing = False
    handler = logging.StreamHandler(sys.stderr)
    if fmt == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(TextFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # uvicorn's own lines carry request paths with query strings (a client may wrongly put
    # a token there) and the WebSocket handshake status: ours replace them.
    for name in ("uvicorn.access", "websockets", "uvicorn.error"):
        logging.getLogger(name).setLevel(logging.WARNING)
    uvicorn_error = logging.getLogger("uvicorn.error")
    if not any(isinstance(f, _DenialNoise) for f in uvicorn_error.filters):
        uvicorn_error.addFilter(_DenialNoise())
    for name in ("botocore", "aiobotocore", "aiosqlite", "asyncio", "alembic"):
        logging.getLogger(name).setLevel(max(logging.WARNING, root.level))
