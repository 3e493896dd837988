"""The outgoing-mail limiter: emails alertbot sends because someone asked for them.

A confirmation link (``/subscribe email ADDRESS``), and the web pages' sign-in links
later, go to an address a requester typed: without a limit, repeating the command
mail-bombs a stranger. Each such email is first reserved here; a reservation is refused
when that address already got ``per_address`` emails of that purpose within the window,
or that requester asked for ``per_requester``. The counts live in the store, so they
hold across restarts and are shared by every process on it.

A requester is whoever asks, as a string the caller chooses: ``slack:TEAM:USER`` for
the Slack command, a client address for a web page. Addresses are compared lower-case
and stripped. Both are kept as SHA-256 digests: a limit needs equality only, and the
address of a stranger someone typed has no reason to be kept readable.

Exact under concurrency: the reservation is one conditional ``INSERT ... SELECT`` (on
SQLite a write statement holds the database's write lock from its start, so it counts
what every other writer committed); PostgreSQL's READ COMMITTED would let two inserts
count the same rows, so transaction-scoped advisory locks on the address and the
requester, taken in a fixed order, serialise the reservations that compete.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Literal

from sqlalchemy import Connection, ScalarSelect, and_, delete, func, literal, select, text

from alertbot.config import Settings
from alertbot.store.db import Db, transaction
from alertbot.store.schema import outgoing_mail

Limit = Literal["address", "requester"]


class MailPurpose(StrEnum):
    CONFIRM_EMAIL = "confirm-email"
    SIGN_IN_LINK = "sign-in-link"


@dataclass(frozen=True, slots=True)
class MailLimits:
    """At most ``per_address`` emails to one address, and ``per_requester`` asked by one
    requester, in any ``window``; each purpose counted on its own."""

    per_address: int
    per_requester: int
    window: timedelta

    def __post_init__(self) -> None:
        for name in ("per_address", "per_requester"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1")

    @classmethod
    def from_settings(cls, settings: Settings) -> MailLimits:
        limits = settings.outgoing_mail
        return cls(
            per_address=limits.per_address,
            per_requester=limits.per_requester,
            window=timedelta(hours=limits.window_hours),
        )


@dataclass(frozen=True, slots=True)
class MailVerdict:
    """Whether the email may go; if not, which ``limit`` it hit, how many emails that
    limit counts (``count``), and when the next one may go (``retry_at``)."""

    allowed: bool
    limit: Limit | None = None
    count: int = 0
    retry_at: datetime | None = None


def _digest(value: str) -> str:
    return hashlib.sha256(value.encode("utf-8")).hexdigest()


def _advisory_key(name: str) -> int:
    # pg_advisory_xact_lock takes a signed 64-bit key.
    return int.from_bytes(hashlib.sha256(name.encode("utf-8")).digest()[:8], "big", signed=True)


def reserve_mail(
    db: Db,
    purpose: MailPurpose,
    *,
    address: str,
    requester: str,
    limits: MailLimits,
    now: datetime,
) -> MailVerdict:
    """Count one email of ``purpose`` to ``address`` asked by ``requester``, if both
    limits allow it; the email is then the caller's to send (a failed send still counts:
    after a timeout the far side may have it)."""
    address_key = _digest(address.strip().lower())
    requester_key = _digest(requester)
    since = now - limits.window
    mail = outgoing_mail.c

    def sent_in_window(column: str, key: str) -> ScalarSelect[int]:
        return (
            select(func.count())
            .select_from(outgoing_mail)
            .where(mail.purpose == str(purpose), mail[column] == key, mail.sent_at > since)
            .scalar_subquery()
        )

    allowed_now = select(
        literal(str(purpose)),
        literal(address_key),
        literal(requester_key),
        literal(now, type_=mail.sent_at.type),
    ).where(
        and_(
            sent_in_window("address_key", address_key) < limits.per_address,
            sent_in_window("requester_key", requester_key) < limits.per_requester,
        )
    )
    with transaction(db) as conn:
        if conn.dialect.name == "postgresql":
            names = (f"{purpose}:a:{address_key}", f"{purpose}:r:{requester_key}")
            for key in sorted(_advisory_key(n) for n in names):
                conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": key})
        reserved = conn.execute(
            outgoing_mail.insert()
            .from_select(["purpose", "address_key", "requester_key", "sent_at"], allowed_now)
            # RETURNING, not rowcount: SQLAlchemy reports -1 for INSERT ... SELECT on psycopg.
            .returning(mail.id)
        ).first()
        if reserved is not None:
            return MailVerdict(allowed=True)
        return _refusal(conn, purpose, address_key, requester_key, limits, since)


def _refusal(
    conn: Connection,
    purpose: MailPurpose,
    address_key: str,
    requester_key: str,
    limits: MailLimits,
    since: datetime,
) -> MailVerdict:
    """Which limit refused, and when its oldest counted email leaves the window."""
    mail = outgoing_mail.c
    checks: tuple[tuple[Limit, str, str, int], ...] = (
        ("address", "address_key", address_key, limits.per_address),
        ("requester", "requester_key", requester_key, limits.per_requester),
    )
    for limit, column, key, most in checks:
        count, oldest = conn.execute(
            select(func.count(), func.min(mail.sent_at)).where(
                mail.purpose == str(purpose), mail[column] == key, mail.sent_at > since
            )
        ).one()
        if count >= most:
            return MailVerdict(False, limit, count, oldest + limits.window)
    # Unreachable: counts only grow while this transaction holds its locks (SQLite's
    # write lock, PostgreSQL's advisory locks), so the refusal above always finds why.
    raise AssertionError("reservation refused with both limits below their maximum")


def prune_outgoing_mail(db: Db, *, before: datetime) -> int:
    """Delete the rows older than ``before`` (past every window); returns how many."""
    with transaction(db) as conn:
        deleted = conn.execute(delete(outgoing_mail).where(outgoing_mail.c.sent_at < before))
        return int(deleted.rowcount)
