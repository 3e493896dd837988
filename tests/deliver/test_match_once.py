"""Match once: what the dispatcher chose is stored on the row, and sending is load + render."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, update

from alertbot.corpus import load_corpus
from alertbot.deliver import plan_due, queue_due, send_due
from alertbot.deliver.base import HandOver, Rendered
from alertbot.deliver.file import FileChannel
from alertbot.digest import build_digest
from alertbot.model import Digest, EndpointKind, OutboxState, Paper, Profile
from alertbot.render import Renderer
from alertbot.samples import sample_dump_paths
from alertbot.sources import load_papers
from alertbot.store import deliveries
from alertbot.store import enqueue as rows
from alertbot.store import profiles as profile_store
from alertbot.store.schema import outbox
from tests.helpers.delivery import NOW, make_papers, make_settings


class Recording(FileChannel):
    """The file channel, remembering the digests it was given."""

    def __init__(self, folder: Path) -> None:
        super().__init__(folder, from_address="digest@example.org")
        self.digests: list[Digest] = []

    def send(
        self, digest: Digest, rendered: Rendered, *, outbox_id: int, hand_over: HandOver
    ) -> str | None:
        self.digests.append(digest)
        return super().send(digest, rendered, outbox_id=outbox_id, hand_over=hand_over)


def _send(engine: Engine, tmp_path: Path) -> tuple[Recording, dict[int, str]]:
    channel = Recording(tmp_path / "out")
    report = send_due(
        engine,
        make_settings(tmp_path),
        now=lambda: NOW + timedelta(minutes=5),
        channels={EndpointKind.FILE: channel},
    )
    return channel, {d.outbox_id: d.state for d in report.deliveries}


def test_it_stores_the_planned_matches_on_the_row(
    tmp_path: Path, engine: Engine, stock: Callable[..., list[Paper]], subscribe: Any
) -> None:
    """The row holds exactly the matches planned, bare: the papers, their scores and the
    profile's interests (the sender explains them)."""
    stock()
    subscribe("Reader", "inbox", kind=EndpointKind.FILE, interests=("diffusion", "graph"))
    settings = make_settings(tmp_path)
    (plan,) = plan_due(engine, settings, now=NOW)
    assert plan.bare
    assert not plan.matches
    queue_due(engine, settings, now=NOW)
    (row,) = deliveries.list_rows(engine)
    assert row.matches_bare
    assert row.matches() == plan.bare.matches()
    assert {m.interests for m in row.matches()} == {("diffusion", "graph")}
    assert [m.score for m in row.matches()] == list(plan.bare.scores)
    assert row.paper_ids == plan.paper_ids


# Real text (TeX included) and the query forms readers write; shared interests, so the
# matcher's shared Matches and highlights are handed to several readers.
READERS = (
    ("diffusion", "ti:graph"),
    ("diffusion", '"language model"', "quantiz*"),
    ("(attention OR transformer) -survey", "ti:graph"),
    ("reinforcement learning^2", "diffusion", "robot*"),
    ('"neural network" OR graph*', "benchmark"),
)


def test_a_sent_digest_renders_byte_for_byte_as_one_matched_fresh(
    tmp_path: Path, engine: Engine, stock: Callable[..., list[Paper]], subscribe: Any
) -> None:
    """What goes out from the stored matches is exactly the email the reference matcher
    (match_profile on the same papers and statistics) would have made: items, scores,
    highlights and the rendered subject, text and HTML."""
    stock([p for path in sample_dump_paths() for p in load_papers(str(path), now=NOW)])
    for n, interests in enumerate(READERS):
        subscribe(f"Reader {n}", f"inbox{n}", kind=EndpointKind.FILE, interests=interests)
    settings = make_settings(tmp_path)
    queue_due(engine, settings, now=NOW)
    corpus = load_corpus(engine, now=NOW, days=settings.match.corpus_days)  # as stored
    channel, states = _send(engine, tmp_path)
    assert sorted(states.values()) == ["sent"] * len(READERS)
    renderer = Renderer(public_url="https://alertbot.example.org/")
    for sent in channel.digests:
        fresh = build_digest(
            sent.subscriber, sent.endpoint, sent.digest_date, corpus.papers, corpus.stats
        )
        assert sent.items
        assert any(item.match.hits for item in sent.items)
        assert (sent.items, sent.more) == (fresh.items, fresh.more)
        url = "https://alertbot.example.org/unsubscribe?token=t"
        assert renderer.email(sent, unsubscribe_url=url) == Renderer(
            public_url="https://alertbot.example.org/"
        ).email(fresh, unsubscribe_url=url)


def test_it_sends_what_was_queued_even_if_the_profile_changed_since(
    tmp_path: Path, engine: Engine, stock: Callable[..., list[Paper]], subscribe: Any
) -> None:
    """A profile edited between queue and send does not change the queued digest: the
    same papers, scores and highlights go out (the edit applies from the next one)."""
    stock()
    reader = subscribe("Reader", "inbox", kind=EndpointKind.FILE, interests=("diffusion",))
    queue_due(engine, make_settings(tmp_path), now=NOW)
    (row,) = deliveries.list_rows(engine)
    profile_store.set_profile(engine, reader.id, Profile(("cryptography",)), now=NOW)
    channel, states = _send(engine, tmp_path)
    assert states == {row.id: "sent"}
    (digest,) = channel.digests
    assert [(i.match.paper_id, i.match.score) for i in digest.items] == [
        (m.paper_id, m.score) for m in row.matches()
    ]
    assert {i.match.interests for i in digest.items} == {("diffusion",)}
    assert all(hit.interest == "diffusion" for i in digest.items for hit in i.match.hits)


def test_it_keeps_the_queued_scores_when_the_corpus_moves(
    tmp_path: Path, engine: Engine, stock: Callable[..., list[Paper]], subscribe: Any
) -> None:
    """Papers stored after queueing change term rarity, not the digest already queued."""
    stock()
    subscribe("Reader", "inbox", kind=EndpointKind.FILE, interests=("diffusion",))
    queue_due(engine, make_settings(tmp_path), now=NOW)
    (row,) = deliveries.list_rows(engine)
    stock(make_papers(40, prefix="2604", extra="diffusion "), at=NOW + timedelta(minutes=1))
    channel, _ = _send(engine, tmp_path)
    (digest,) = channel.digests
    assert [item.match.score for item in digest.items] == [m.score for m in row.matches()]


def test_a_row_whose_stored_matches_do_not_read_ends_dead_and_the_batch_goes_on(
    tmp_path: Path, engine: Engine, stock: Callable[..., list[Paper]], subscribe: Any
) -> None:
    """A damaged ``matches`` column: that row is dead with the reason, the others go out."""
    stock()
    subscribe("Damaged", "inbox", kind=EndpointKind.FILE)
    subscribe("Fine", "inbox2", kind=EndpointKind.FILE)
    queue_due(engine, make_settings(tmp_path), now=NOW)
    damaged, fine = sorted(deliveries.list_rows(engine), key=lambda r: r.id)
    with engine.begin() as conn:
        conn.execute(update(outbox).where(outbox.c.id == damaged.id).values(matches="[[1, 2]"))
    _, states = _send(engine, tmp_path)
    assert states == {damaged.id: "dead", fine.id: "sent"}
    (row,) = deliveries.list_rows(engine, states=[OutboxState.DEAD])
    assert row.last_error is not None
    assert row.last_error.startswith("stored matches do not read")


def test_a_row_queued_before_stored_matches_is_sent_with_its_papers(
    tmp_path: Path, engine: Engine, stock: Callable[..., list[Paper]], subscribe: Any
) -> None:
    """A row from before migration 0004 (no matches) still goes out, unhighlighted."""
    papers = stock()
    reader = subscribe("Reader", "inbox", kind=EndpointKind.FILE)
    rows.insert(
        engine,
        subscriber_id=reader.id,
        endpoint_id=reader.endpoints[0].id,
        digest_date=NOW.date(),
        paper_ids=[papers[0].id, papers[3].id],
        more=0,
        state=OutboxState.PENDING,
        now=NOW,
    )
    with engine.begin() as conn:
        conn.execute(update(outbox).values(matches=None))
    channel, states = _send(engine, tmp_path)
    assert list(states.values()) == ["sent"]
    (digest,) = channel.digests
    assert [(i.paper.id, i.match.hits) for i in digest.items] == [
        (papers[0].id, ()),
        (papers[3].id, ()),
    ]
