"""The SQLite database file is created private (0600), like the generated secret.

SQLite creates a new file with 0644 (less the umask), and its ``-wal``/``-shm`` files
with the database file's own mode, so creating the empty file first, 0600, before SQLite
opens it, makes all three private. An existing file keeps the mode its owner gave it.
"""

from __future__ import annotations

import os
from pathlib import Path

FILE_MODE = 0o600


def create_private(path: Path) -> None:
    """Create ``path`` empty with mode 0600 unless it exists (SQLite takes an empty file
    as a new database)."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
    except FileExistsError:
        return
    os.close(fd)
