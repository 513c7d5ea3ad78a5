"""Checks before `serve` or `migrate` touch anything: each failure is one line naming the
variable to fix (a ConfigError), never a traceback.

- the local paths: the data directory and the SQLite file's directory exist and can be
  written (an unwritable one is named with its reason, not reported as a database that
  does not answer);
- the database: migrations applied, or the driver's reason in one line.
"""

from __future__ import annotations

import asyncio
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import sqlalchemy.exc

from orderchat.config import SECRET_FILE, Settings
from orderchat.errors import ConfigError, UnavailableError


def _local_paths(settings: Settings) -> list[tuple[Path, str, int]]:
    """(directory, the variable that names it, its mode when created) for each local
    directory this configuration writes to."""
    wanted: list[tuple[Path, str, int]] = []
    needs_secret = settings.jwt_secret is None and not settings.uses_asymmetric_keys
    # a secret file already there is only read: its directory need not be writable
    secret_missing = needs_secret and not (settings.data_dir / SECRET_FILE).exists()
    if settings.database_url is None or secret_missing:
        wanted.append((settings.data_dir, "ORDERCHAT_DATA_DIR", 0o700))
    if settings.database_url and settings.database_url.startswith("sqlite:///"):
        parent = Path(settings.database_url.removeprefix("sqlite:///")).parent
        wanted.append((parent, "ORDERCHAT_DATABASE_URL", 0o777))
    return wanted


def prepare_local_state(settings: Settings) -> None:
    """Create the data directory (private: 0700) and the SQLite file's directory now, and
    check that a file can be created in each (by creating one: ``os.access`` says yes to
    root on a read-only place)."""
    for path, variable, mode in _local_paths(settings):
        try:
            path.mkdir(mode=mode, parents=True, exist_ok=True)
        except OSError as exc:
            raise ConfigError(f"{variable}: cannot create {path}: {exc.strerror}") from None
        try:
            fd, probe = tempfile.mkstemp(dir=path, prefix=".orderchat-write-check-")
        except OSError as exc:
            raise ConfigError(f"{variable}: cannot write in {path}: {exc.strerror}") from None
        os.close(fd)
        os.unlink(probe)


def _reason(error: BaseException) -> str:
    """The first line of what the driver said, without the statement or its parameters."""
    cause: BaseException | None = error
    if isinstance(error, UnavailableError):
        cause = error.__cause__ or error
    if isinstance(cause, sqlalchemy.exc.DBAPIError) and cause.orig is not None:
        cause = cause.orig
    text = str(cause).strip().splitlines()[0] if str(cause).strip() else ""
    return text or type(cause).__name__


@contextmanager
def database_errors() -> Iterator[None]:
    """A database that cannot be reached or used: one line naming the variable."""
    try:
        yield
    except UnavailableError as err:
        reason = _reason(err)
        raise ConfigError(
            f"ORDERCHAT_DATABASE_URL: the database does not answer ({reason})"
        ) from None
    except (sqlalchemy.exc.DBAPIError, OSError) as err:
        raise ConfigError(f"ORDERCHAT_DATABASE_URL: {_reason(err)}") from None


def migrate(settings: Settings) -> str:
    """Apply pending migrations; returns the dialect. Errors: ConfigError, one line."""
    from orderchat.store import Store

    async def run() -> str:
        store = Store.from_url(settings.effective_database_url)
        try:
            await store.migrate()
        finally:
            await store.close()
        return store.db.dialect

    with database_errors():
        return asyncio.run(run())
