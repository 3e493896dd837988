"""The plain data that flows through alertbot's pipeline.

Nothing here does I/O. Every stage takes and returns these values, so a reader can
follow a paper from a listing dump to an inbox by reading the types alone.
"""

from __future__ import annotations

import enum
import hashlib
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time
from typing import Any, Literal

# arXiv identifiers: new style 2602.23229 (4 or 5 digits after the dot since 2015) and
# old style hep-th/9901001, each optionally followed by a version we drop.
_ARXIV_ID = re.compile(
    r"^(?:arxiv:)?(?P<id>\d{4}\.\d{4,5}|[a-z][a-z.-]*(?:\.[A-Z]{2})?/\d{7})(?:v\d+)?$",
    re.IGNORECASE,
)
_NOT_WORD = re.compile(r"[\W_]+", re.UNICODE)


def normalise_title(title: str) -> str:
    """Fold a title so that cosmetic differences between listings disappear.

    Case, Unicode compatibility forms (NFKC), punctuation and runs of whitespace do
    not make two papers different: "Self-Attention: A Survey" and
    "self attention a survey" are the same paper.
    """
    folded = unicodedata.normalize("NFKC", title).casefold()
    return " ".join(_NOT_WORD.sub(" ", folded).split())


def arxiv_id(raw: str | None) -> str | None:
    """Return the version-less arXiv id in ``raw`` (``2602.23229v2`` -> ``2602.23229``)."""
    if not raw:
        return None
    m = _ARXIV_ID.match(raw.strip())
    return m.group("id") if m else None


def title_id(title: str) -> str:
    """A stable id for a paper we only know by its title."""
    digest = hashlib.sha256(normalise_title(title).encode("utf-8")).hexdigest()
    return f"t-{digest[:16]}"


def paper_id(title: str, arxiv: str | None = None) -> str:
    """The paper's identity: its version-less arXiv id when known, else a title hash."""
    return arxiv_id(arxiv) or title_id(title)


@dataclass(frozen=True, slots=True)
class Paper:
    """One paper as a listing describes it, its text exactly as the source gave it.

    ``id`` is :func:`paper_id`. ``authors`` holds names only (what ``au:`` matches);
    ``affiliations``, when the source gives any, runs parallel to it ("" for an
    author without one). ``primary_category`` is arXiv's primary classification;
    ``github_repo``, ``project_page``, ``upvotes`` and ``hf_url`` come from Hugging
    Face, ``doi`` and ``journal_ref`` from arXiv. ``extra`` keeps whatever else the
    source said (keys we do not know yet) so nothing is lost.
    """

    id: str
    title: str
    abstract: str
    source_format: str
    authors: tuple[str, ...] = ()
    n_authors: int | None = None
    published: date | None = None
    url: str | None = None
    arxiv_id: str | None = None
    categories: tuple[str, ...] = ()
    doi: str | None = None
    announce_type: str | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)
    affiliations: tuple[str, ...] = ()
    primary_category: str | None = None
    journal_ref: str | None = None
    github_repo: str | None = None
    project_page: str | None = None
    upvotes: int | None = None
    hf_url: str | None = None

    @property
    def title_key(self) -> str:
        return normalise_title(self.title)


@dataclass(frozen=True, slots=True)
class StoredPaper:
    """A paper as the store knows it: when it was first seen and who listed it."""

    paper: Paper
    first_seen: datetime
    sources: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Profile:
    """What a subscriber cares about, in the matcher's query language.

    A paper matches when at least one interest matches and no exclusion does.
    """

    interests: tuple[str, ...] = ()
    exclusions: tuple[str, ...] = ()
    min_score: float = 0.0
    max_papers: int = 20


Field = Literal["title", "abstract", "authors"]


@dataclass(frozen=True, slots=True)
class Hit:
    """One query term found in one field of a paper, with the spans to highlight.

    ``spans`` are ``(start, end)`` character offsets into the field as displayed, TeX
    converted to Unicode (``alertbot.tex.display(paper.title)``, ``display(paper.
    abstract)``; for authors, ``alertbot.tex.display_authors(paper.authors)``): the text
    the renderers show. For text without TeX that is the source text itself.
    """

    interest: str
    field: Field
    term: str
    spans: tuple[tuple[int, int], ...] = ()


@dataclass(frozen=True, slots=True)
class Match:
    """Why a paper was chosen for a profile, and how strongly."""

    paper_id: str
    score: float
    interests: tuple[str, ...]
    hits: tuple[Hit, ...] = ()


class Frequency(enum.StrEnum):
    DAILY = "daily"
    WEEKDAYS = "weekdays"
    WEEKLY = "weekly"


class OutboxState(enum.StrEnum):
    """Where one outbox row (one digest on one endpoint for one date) stands.

    The transitions and what each state promises are documented in
    :mod:`alertbot.store.outbox`; the named sets below are the only place that says which
    states count as in flight, claimable or final.
    """

    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"
    UNKNOWN = "unknown"
    DEAD = "dead"
    EMPTY = "empty"


# A digest in one of these states may still reach the reader (or may have: ``unknown``),
# so its papers are held back from the next digest on that endpoint.
IN_FLIGHT: frozenset[OutboxState] = frozenset(
    {OutboxState.PENDING, OutboxState.SENDING, OutboxState.FAILED, OutboxState.UNKNOWN}
)
# A worker may claim a row in these states once its ``next_attempt_at`` has come.
CLAIMABLE: frozenset[OutboxState] = frozenset({OutboxState.PENDING, OutboxState.FAILED})
# Nothing happens to a row in these states unless an operator retries it.
FINAL: frozenset[OutboxState] = frozenset(
    {OutboxState.SENT, OutboxState.DEAD, OutboxState.EMPTY, OutboxState.UNKNOWN}
)


class SendPhase(enum.StrEnum):
    """How far the attempt on a ``sending`` row has got, recorded before each step.

    It is what a reclaim may do with the row once its worker is lost: no phase (claimed,
    not tried) goes back to pending at no cost; ``started`` (being built or sent, nothing
    handed over yet) is retried with one attempt charged; ``handed_over`` (SMTP's final
    dot or Slack's post has left) may have reached the reader, so it becomes ``unknown``
    and is never sent again by itself.
    """

    STARTED = "started"
    HANDED_OVER = "handed_over"


class FetchStatus(enum.StrEnum):
    """How one fetch of one source ended, as the fetch log records it.

    ``empty`` is a listing with no entries (arXiv's weekend RSS, a zero-result API
    query): fetched fine, nothing announced. Only ``error`` is a failing fetch.
    """

    OK = "ok"
    EMPTY = "empty"
    NOT_MODIFIED = "not_modified"
    ERROR = "error"


SUCCESSFUL_FETCH: frozenset[FetchStatus] = frozenset(
    {FetchStatus.OK, FetchStatus.EMPTY, FetchStatus.NOT_MODIFIED}
)


class EndpointKind(enum.StrEnum):
    EMAIL = "email"
    SLACK_USER = "slack_user"
    SLACK_CHANNEL = "slack_channel"
    FILE = "file"


@dataclass(frozen=True, slots=True)
class Endpoint:
    """One place a subscriber's digest goes.

    ``address`` is an email address, a Slack user id, a Slack channel id, or a folder
    for the file channel. For Slack users, ``slack_dm_channel`` caches the DM channel
    that ``conversations.open`` returned, so we ask only once.
    """

    id: int
    subscriber_id: int
    kind: EndpointKind
    address: str
    active: bool = True
    disabled_reason: str | None = None
    slack_team_id: str | None = None
    slack_dm_channel: str | None = None
    confirmed: bool = True


@dataclass(frozen=True, slots=True)
class Subscriber:
    """A person (or a Slack channel) who receives digests.

    ``learning``: whether the reader allows the learned ranking (:mod:`alertbot.learn`);
    it only takes effect once they have given enough feedback.
    """

    id: int
    name: str
    profile: Profile
    timezone: str = "UTC"
    send_time: time = time(8, 0)
    frequency: Frequency = Frequency.DAILY
    weekly_day: int = 0  # Monday; used only when frequency is weekly
    active: bool = True
    endpoints: tuple[Endpoint, ...] = ()
    slack_team_id: str | None = None
    slack_user_id: str | None = None
    learning: bool = True


# A reader's verdict on a paper: the Slack buttons, the email links, the web page.
FeedbackValue = Literal["useful", "not_useful"]
FEEDBACK_VALUES: tuple[FeedbackValue, ...] = ("useful", "not_useful")


@dataclass(frozen=True, slots=True)
class RankReason:
    """Why the learned ranking moved a paper, in terms of the reader's own feedback.

    ``direction`` is where it moved against the keyword order; ``terms`` are the
    strongest features of the reader's model present in the paper (as words of the
    paper); ``like`` counts the papers the reader judged the same way (useful for
    ``up``, not useful for ``down``) that contain the first of them.
    """

    direction: Literal["up", "down"]
    terms: tuple[str, ...] = ()
    like: int = 0


SuggestionKind = Literal["interest", "exclusion"]


@dataclass(frozen=True, slots=True)
class Suggestion:
    """A query change the reader's feedback argues for (:mod:`alertbot.learn.suggest`):
    ``query`` is what would be added, as the reader would type it."""

    kind: SuggestionKind
    query: str
    term: str
    useful: int  # judged useful papers containing the term
    not_useful: int  # judged not useful papers containing it


@dataclass(frozen=True, slots=True)
class DigestItem:
    """One paper of a digest; ``reason`` is set when the learned ranking moved it."""

    paper: Paper
    match: Match
    reason: RankReason | None = None


@dataclass(frozen=True, slots=True)
class Digest:
    """What one subscriber receives on one endpoint for one local date.

    ``more`` counts the matching papers left out by the profile's cap ("and N more").
    ``learned``: the order (and which papers made the cap) came from the reader's
    feedback, not from the keyword scores alone; ``suggestions``: the query changes
    that feedback argues for, shown in the footer.
    """

    subscriber: Subscriber
    endpoint: Endpoint
    digest_date: date
    items: tuple[DigestItem, ...]
    more: int = 0
    learned: bool = False
    suggestions: tuple[Suggestion, ...] = ()

    @property
    def is_empty(self) -> bool:
        return not self.items
