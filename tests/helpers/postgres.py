"""What the PostgreSQL connection tests share: ending a backend as a server restart would."""

from __future__ import annotations

from sqlalchemy import Engine, text


def terminate(admin: Engine, pid: int) -> None:
    """End backend ``pid`` from another connection (``admin``, in autocommit)."""
    # With a timeout the call returns once the backend has gone, not when signalled.
    with admin.connect() as conn:
        conn.execute(text("SELECT pg_terminate_backend(:pid, 5000)"), {"pid": pid})
