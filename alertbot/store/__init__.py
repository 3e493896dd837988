"""The database: schema, migrations and one query module per area.

Query functions take an ``Engine`` or a ``Connection`` (``Db``) as their first
argument: with an engine they run in a transaction of their own, with a connection the
caller owns the transaction (``with engine.begin() as conn: ...``).
"""

from alertbot.store.db import Db, connect, migrate, transaction

__all__ = ["Db", "connect", "migrate", "transaction"]
