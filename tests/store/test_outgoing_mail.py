"""The outgoing-mail limiter: emails sent on someone's word, counted in the store.

Per (purpose, address) and per (purpose, requester) in a sliding window; durable across
restarts and exact when several threads or processes ask at once.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import threading
import time
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, func, select

from alertbot.store import connect, migrate
from alertbot.store.outgoing_mail import (
    MailLimits,
    MailPurpose,
    prune_outgoing_mail,
    reserve_mail,
)
from alertbot.store.schema import outgoing_mail
from tests.helpers import REPO

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
LIMITS = MailLimits(per_address=3, per_requester=5, window=timedelta(hours=24))
CONFIRM = MailPurpose.CONFIRM_EMAIL


def reserve(engine: Engine, address: str, requester: str, at: datetime = NOW) -> bool:
    return reserve_mail(
        engine, CONFIRM, address=address, requester=requester, limits=LIMITS, now=at
    ).allowed


def test_it_allows_a_few_emails_to_one_address_then_refuses(engine: Engine) -> None:
    """Three confirmation emails to one address in a day, whoever asks; the fourth waits."""
    asked = [reserve(engine, "victim@example.org", f"slack:T1:U{n}") for n in range(5)]
    assert asked == [True, True, True, False, False]
    verdict = reserve_mail(
        engine, CONFIRM, address="victim@example.org", requester="x", limits=LIMITS, now=NOW
    )
    assert (verdict.limit, verdict.count) == ("address", 3)
    assert verdict.retry_at == NOW + timedelta(hours=24)


def test_it_counts_an_address_whatever_its_case_or_spaces(engine: Engine) -> None:
    """``Victim@Example.org `` and ``victim@example.org`` are one mailbox."""
    for address in ("Victim@Example.org", " victim@example.org", "VICTIM@EXAMPLE.ORG"):
        assert reserve(engine, address, "r")
    assert not reserve(engine, "victim@example.org", "r")


def test_it_limits_one_requester_across_addresses(engine: Engine) -> None:
    """One requester may not spray many addresses: five, then refused, naming the limit."""
    asked = [reserve(engine, f"a{n}@example.org", "slack:T1:U1") for n in range(7)]
    assert asked == [True] * 5 + [False] * 2
    verdict = reserve_mail(
        engine, CONFIRM, address="new@example.org", requester="slack:T1:U1", limits=LIMITS, now=NOW
    )
    assert verdict.limit == "requester"


def test_it_frees_a_slot_when_the_oldest_email_leaves_the_window(engine: Engine) -> None:
    """The window slides: one more is allowed once the first email is a day old."""
    for hours in (0, 1, 2):
        assert reserve(engine, "v@example.org", "r", NOW + timedelta(hours=hours))
    later = NOW + timedelta(hours=23, minutes=59)
    verdict = reserve_mail(
        engine, CONFIRM, address="v@example.org", requester="r", limits=LIMITS, now=later
    )
    assert not verdict.allowed
    assert verdict.retry_at == NOW + timedelta(hours=24)
    assert reserve(engine, "v@example.org", "r", NOW + timedelta(hours=24, seconds=1))


def test_it_keeps_purposes_apart(engine: Engine) -> None:
    """A purpose's emails do not use up another purpose's allowance."""
    for _ in range(3):
        assert reserve(engine, "v@example.org", "r")
    other = reserve_mail(
        engine,
        MailPurpose.SIGN_IN_LINK,
        address="v@example.org",
        requester="r",
        limits=LIMITS,
        now=NOW,
    )
    assert other.allowed


def test_it_stores_no_address_or_requester_in_clear(engine: Engine) -> None:
    """The table keeps digests of who and to whom, never the address a stranger typed."""
    reserve(engine, "victim@example.org", "slack:T1:U1")
    with engine.connect() as conn:
        row = conn.execute(select(outgoing_mail)).one()
    assert "victim" not in json.dumps([str(v) for v in row])
    assert "U1" not in json.dumps([str(v) for v in row])


def test_it_survives_a_restart(db_url: str) -> None:
    """Counts live in the store: a new engine (a restarted process) sees them."""
    first = connect(db_url)
    migrate(first)
    for _ in range(3):
        assert reserve(first, "v@example.org", "r")
    first.dispose()
    second = connect(db_url)
    try:
        assert not reserve(second, "v@example.org", "r")
    finally:
        second.dispose()


def test_it_is_exact_under_concurrent_threads(engine: Engine) -> None:
    """Twelve threads asking at once for one address get exactly three yeses."""
    start = threading.Barrier(12)
    results: list[bool] = []
    lock = threading.Lock()

    def ask(n: int) -> None:
        start.wait(timeout=10)
        allowed = reserve(engine, "v@example.org", f"r{n}")
        with lock:
            results.append(allowed)

    threads = [threading.Thread(target=ask, args=(n,)) for n in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=20)
    assert sorted(results) == [False] * 9 + [True] * 3


_PROCESS = textwrap.dedent(
    """
    import sys, time
    from datetime import UTC, datetime, timedelta
    from alertbot.store import connect, migrate
    from alertbot.store.outgoing_mail import MailLimits, MailPurpose, reserve_mail

    url, go = sys.argv[1], float(sys.argv[2])
    engine = connect(url)
    limits = MailLimits(per_address=3, per_requester=100, window=timedelta(hours=24))
    now = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    with engine.connect():
        pass  # connected before the start line, so all processes ask at once
    time.sleep(max(0.0, go - time.time()))
    allowed = sum(
        reserve_mail(engine, MailPurpose.CONFIRM_EMAIL, address="v@example.org",
                     requester=f"p{n}", limits=limits, now=now).allowed
        for n in range(4)
    )
    print(allowed)
    """
)


def test_it_is_exact_across_processes(engine: Engine, db_url: str) -> None:
    """Four processes, four asks each, at the same instant: three emails in all."""
    go = time.time() + 2.0  # time for four interpreters to start and connect
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", _PROCESS, db_url, str(go)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        for _ in range(4)
    ]
    outputs = [p.communicate(timeout=30) for p in procs]
    assert [p.returncode for p in procs] == [0] * 4, [err for _, err in outputs]
    assert sum(int(out) for out, _ in outputs) == 3
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(outgoing_mail)).scalar_one() == 3


def test_it_prunes_rows_past_any_window(engine: Engine) -> None:
    """Cleanup deletes what no limit can count any more, and only that."""
    reserve(engine, "old@example.org", "r", NOW - timedelta(days=3))
    reserve(engine, "new@example.org", "r", NOW)
    assert prune_outgoing_mail(engine, before=NOW - timedelta(days=1)) == 1
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(outgoing_mail)).scalar_one() == 1


@pytest.mark.parametrize("field", ["per_address", "per_requester"])
def test_it_refuses_limits_below_one(field: str) -> None:
    """A limit of 0 would silently stop every confirmation email: it is refused."""
    values = {"per_address": 3, "per_requester": 5, field: 0}
    with pytest.raises(ValueError, match=field):
        MailLimits(**values, window=timedelta(hours=1))
