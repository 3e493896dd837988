"""Which workers holding outbox rows are gone, so their rows need not wait for the lease."""

from __future__ import annotations

import os
import socket
from collections.abc import Iterable


def lost_workers(holders: Iterable[str], *, me: str) -> list[str]:
    """The holders that were processes on this host and no longer exist.

    Their rows need not wait for the lease: a worker restarted by systemd (or by a
    cron run a minute later) takes them back at once. A worker id is ``host:pid``; ids
    of other hosts, or not of that form, wait for the lease. A wrong guess (two hosts
    of one name sharing a PostgreSQL outbox) cannot double a digest: every write of a
    live worker is conditional on the row still being its own.
    """
    host = socket.gethostname()
    lost = []
    for holder in holders:
        name, _, rest = holder.partition(":")
        pid = rest.partition(":")[0]
        if holder != me and name == host and pid.isdigit() and not _alive(int(pid)):
            lost.append(holder)
    return lost


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process: alive
        return True
    return True
