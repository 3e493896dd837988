"""queue_due: the exact outbox rows one tick queues for a mixed set of subscribers.

The expected rows pin today's behaviour (who is due, which papers, in which order, how
many more) so that how queue_due gets there can change without what it queues changing.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from pathlib import Path

from sqlalchemy import Engine

from alertbot.deliver import queue_due
from alertbot.metrics import REGISTRY
from alertbot.model import EndpointKind, OutboxState, Paper, Profile
from alertbot.store import deliveries
from alertbot.store import endpoints as endpoint_store
from alertbot.store import enqueue as rows
from alertbot.store import papers as paper_store
from alertbot.store import subscribers as subscriber_store
from alertbot.store.candidates import candidate_papers, candidates_by_endpoint
from alertbot.store.marks import mark_delivered
from tests.helpers.delivery import NOW, make_settings

TODAY = NOW.date()
YESTERDAY = TODAY - timedelta(days=1)
JOINED = NOW - timedelta(days=3)
BROKEN = "profile does not parse: interest 1 '(diffusion': unclosed '(' at column 1"


def ids(*numbers: int) -> tuple[str, ...]:
    return tuple(f"2603.{n:05d}" for n in numbers)


def _paper(n: int, title: str, abstract: str, published: date | None) -> Paper:
    return Paper(
        id=f"2603.{n:05d}",
        title=title,
        abstract=abstract,
        source_format="lines",
        authors=("Ada Lovelace",),
        published=published,
        arxiv_id=f"2603.{n:05d}",
    )


DIFFUSION = "We train a diffusion model on protein backbones."
# Stored ten days ago: outside the newcomers' seven-day window.
ANCIENT = [_paper(1, "Diffusion models of old", DIFFUSION, date(2026, 2, 19))]
# Stored three days ago: before the sent digests below were queued.
OLD = [
    _paper(2, "Diffusion models for protein design", DIFFUSION, date(2026, 2, 27)),
    _paper(3, "Sparse attention for long documents", "Sparse attention scales.", None),
]
# Stored thirty hours ago: after those digests.
MID = [
    _paper(4, "Diffusion policies for robot control", "Robots learn diffusion policies.", None),
    _paper(5, "Graph neural networks for molecules", "Message passing on molecules.", None),
    _paper(6, "Protein design with diffusion models", DIFFUSION, date(2026, 2, 28)),
]
# Stored an hour ago. 7 and 8 tie with 2 and 6 on score: published date, then id, decide.
NEW = [
    _paper(7, "Diffusion models for protein design", DIFFUSION, date(2026, 3, 1)),
    _paper(8, "Design protein with models diffusion", DIFFUSION, date(2026, 3, 1)),
    _paper(9, "Graph transformers with sparse attention", "Graph attention at scale.", None),
    _paper(10, "Diffusion on graphs", "Graph diffusion for molecules.", date(2026, 3, 1)),
    _paper(11, "Reinforcement learning from feedback", "Learning with feedback.", None),
]


def _stock(engine: Engine) -> None:
    for batch, age in ((ANCIENT, 240), (OLD, 72), (MID, 30), (NEW, 1)):
        paper_store.upsert_papers(engine, batch, source="test", now=NOW - timedelta(hours=age))


def _subscribe(
    engine: Engine,
    name: str,
    profile: Profile,
    *endpoints: tuple[EndpointKind, str],
    active: bool = True,
    confirmed: bool = True,
) -> list[int]:
    sub = subscriber_store.create_subscriber(
        engine, name=name, now=JOINED, profile=profile, active=active
    )
    return [
        endpoint_store.add_endpoint(
            engine, sub.id, kind, address, now=JOINED, confirmed=confirmed
        ).id
        for kind, address in endpoints
    ]


def _queue_earlier(
    engine: Engine,
    endpoint_id: int,
    day: date,
    state: OutboxState,
    paper_ids: list[str],
    at: datetime,
) -> None:
    """An outbox row from an earlier tick; a sent one also marks its papers delivered."""
    found = endpoint_store.get_endpoint(engine, endpoint_id)
    assert found is not None
    rows.insert(
        engine,
        subscriber_id=found.subscriber_id,
        endpoint_id=endpoint_id,
        digest_date=day,
        paper_ids=paper_ids,
        more=0,
        state=state,
        now=at,
    )
    if state == OutboxState.SENT:
        (row,) = [
            r
            for r in deliveries.list_rows(engine, limit=100)
            if r.endpoint_id == endpoint_id and r.digest_date == day
        ]
        with engine.begin() as conn:
            mark_delivered(conn, endpoint_id, paper_ids, row.id, now=at)


def _world(engine: Engine) -> dict[int, str]:
    """Stock papers and subscribers; returns a label per endpoint id."""
    _stock(engine)
    email, slack = EndpointKind.EMAIL, EndpointKind.SLACK_CHANNEL
    labels: dict[int, str] = {}

    def add(label: str, profile: Profile, *eps: tuple[EndpointKind, str], **kw: bool) -> list[int]:
        ids = _subscribe(engine, label, profile, *eps, **kw)
        labels.update({i: f"{label} {address}" for i, (_, address) in zip(ids, eps, strict=True)})
        return ids

    add("capped", Profile(("diffusion",), max_papers=2), (email, "capped@example.org"))
    add(
        "excluding",
        Profile(("graph*", "attention"), exclusions=("molecul*",)),
        (email, "excluding@example.org"),
    )
    add(
        "threshold",
        Profile(("diffusion", '"protein design"'), min_score=2.5),
        (email, "threshold@example.org"),
    )
    with_history, _ = add(
        "history",
        Profile(("diffusion", "graph*")),
        (email, "history@example.org"),
        (slack, "C0HISTORY"),
    )
    # Sent two days ago: only papers stored since are candidates, and 4 was delivered.
    _queue_earlier(
        engine,
        with_history,
        TODAY - timedelta(days=2),
        OutboxState.SENT,
        ["2603.00004"],
        NOW - timedelta(days=2),
    )
    (in_flight,) = add(
        "inflight", Profile(("diffusion", "graph*")), (email, "inflight@example.org")
    )
    # Yesterday's digest is still pending: its papers stay out of today's.
    _queue_earlier(
        engine,
        in_flight,
        YESTERDAY,
        OutboxState.PENDING,
        ["2603.00006", "2603.00010"],
        NOW - timedelta(days=1),
    )
    (rescue,) = add("rescue", Profile(("diffusion", "attention")), (email, "rescue@example.org"))
    # A digest died after the next one was sent (whose cut-off passed its papers): its
    # papers come back, except 3, which that next digest delivered. One dead more than
    # seven days ago stays dead.
    for day, state, paper_ids, age in (
        (TODAY - timedelta(days=8), OutboxState.DEAD, ["2603.00001"], timedelta(days=8)),
        (
            TODAY - timedelta(days=2),
            OutboxState.DEAD,
            ["2603.00002", "2603.00003"],
            timedelta(days=2),
        ),
        (YESTERDAY, OutboxState.SENT, ["2603.00003"], timedelta(hours=40)),
    ):
        _queue_earlier(engine, rescue, day, state, paper_ids, NOW - age)
    add("broken", Profile(("(diffusion",)), (email, "broken@example.org"))
    add("nothing", Profile(("cryptography",)), (email, "nothing@example.org"))
    (done,) = add("done", Profile(("diffusion",)), (email, "done@example.org"))
    _queue_earlier(
        engine, done, TODAY, OutboxState.PENDING, ["2603.00002"], NOW - timedelta(minutes=5)
    )
    add("unconfirmed", Profile(("diffusion",)), (email, "new@example.org"), confirmed=False)
    add("paused", Profile(("diffusion",)), (email, "paused@example.org"), active=False)
    return labels


def test_it_queues_exactly_these_rows(tmp_path: Path, engine: Engine) -> None:
    """One tick queues each due endpoint's own papers, ranked and capped, and nothing else."""
    labels = _world(engine)
    before = {r.id for r in deliveries.list_rows(engine, limit=100)}
    assert queue_due(engine, make_settings(tmp_path), now=NOW) == 7
    queued = sorted(
        (labels[r.endpoint_id], r.digest_date, r.state, r.paper_ids, r.more, r.last_error)
        for r in deliveries.list_rows(engine, limit=100)
        if r.id not in before
    )
    assert queued == [
        ("broken broken@example.org", TODAY, "dead", (), 0, BROKEN),
        # Six diffusion papers among its candidates: the best two, and four more.
        ("capped capped@example.org", TODAY, "pending", ids(10, 4), 4, None),
        # 5 and 10 are about molecules.
        ("excluding excluding@example.org", TODAY, "pending", ids(9, 3), 0, None),
        # A Slack channel with no history: the last seven days (not the ancient 1).
        ("history C0HISTORY", TODAY, "pending", ids(10, 9, 5, 4, 7, 8, 6, 2), 0, None),
        # Since its sent digest, and not 4, which that digest delivered.
        ("history history@example.org", TODAY, "pending", ids(10, 9, 5, 7, 8, 6), 0, None),
        # Not 6 nor 10: they are in yesterday's digest, still pending.
        ("inflight inflight@example.org", TODAY, "pending", ids(9, 5, 4, 7, 8, 2), 0, None),
        ("nothing nothing@example.org", TODAY, "empty", (), 0, None),
        # 2 is back from the dead digest; 3 was delivered since, 1 died too long ago.
        ("rescue rescue@example.org", TODAY, "pending", ids(9, 10, 4, 7, 8, 6, 2), 0, None),
        # Only the papers with the phrase too score above 2.5; equal scores, newest first.
        ("threshold threshold@example.org", TODAY, "pending", ids(7, 6, 2), 0, None),
    ]


def test_endpoints_planned_together_get_what_each_gets_alone(engine: Engine) -> None:
    """A batch of endpoints with different cut-offs, histories and digests in flight: each
    gets exactly its candidates alone (a batch of one, pinned in test_store_digests)."""
    labels = _world(engine)
    batched = candidates_by_endpoint(engine, list(labels), now=NOW, window_days=7)
    for endpoint_id in labels:
        endpoint = endpoint_store.get_endpoint(engine, endpoint_id)
        assert endpoint is not None
        one = candidate_papers(engine, endpoint, now=NOW, window_days=7)
        assert [p.id for p in batched[endpoint_id]] == [p.id for p in one], labels[endpoint_id]


def test_it_counts_the_papers_queued_in_the_metrics(tmp_path: Path, sqlite_engine: Engine) -> None:
    """alertbot_matches_total grows by the papers of the digests queued, once."""
    _world(sqlite_engine)
    settings = make_settings(tmp_path)
    before = REGISTRY.get_sample_value("alertbot_matches_total") or 0.0
    queue_due(sqlite_engine, settings, now=NOW)
    queue_due(sqlite_engine, settings, now=NOW + timedelta(minutes=1))  # nothing new is due
    after = REGISTRY.get_sample_value("alertbot_matches_total") or 0.0
    assert after - before == 2 + 2 + 8 + 6 + 6 + 7 + 3  # the pending rows above
