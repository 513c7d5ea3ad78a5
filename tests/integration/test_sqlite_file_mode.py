"""The SQLite database file and its -wal/-shm are created 0600 (SPEC 1: like the secret)."""

from __future__ import annotations

import stat
from pathlib import Path

from orderchat.store import Store


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


async def test_sqlite_files_are_private_in_an_existing_directory(tmp_path: Path) -> None:
    shared = tmp_path / "shared"
    shared.mkdir(mode=0o755)
    db_file = shared / "orderchat.db"
    store = Store.from_url(f"sqlite:///{db_file}")
    try:
        await store.migrate()
        files = [db_file, shared / "orderchat.db-wal", shared / "orderchat.db-shm"]
        assert all(f.exists() for f in files), sorted(p.name for p in shared.iterdir())
        assert {f.name: _mode(f) for f in files} == {f.name: 0o600 for f in files}
    finally:
        await store.close()


async def test_an_existing_database_file_keeps_its_mode(tmp_path: Path) -> None:
    db_file = tmp_path / "orderchat.db"
    first = Store.from_url(f"sqlite:///{db_file}")
    await first.migrate()
    await first.close()
    db_file.chmod(0o640)  # the operator's choice
    again = Store.from_url(f"sqlite:///{db_file}")
    try:
        await again.migrate()
        assert _mode(db_file) == 0o640
    finally:
        await again.close()
