"""The only SQL in orderchat: schema, migrations, repositories.

SQLite/PostgreSQL differences live in this package and nowhere else.
"""

from orderchat.store.db import Database
from orderchat.store.facade import Store

__all__ = ["Database", "Store"]
