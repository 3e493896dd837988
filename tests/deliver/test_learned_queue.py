"""The learned ranking at queue time: a reader with learning on and enough feedback gets
their matches in their model's order, with the reasons stored on the row and rendered
by the worker as stored; anyone else gets exactly the keyword order."""

from __future__ import annotations

import functools
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, select

from alertbot.corpus import load_corpus
from alertbot.deliver import TickCaches, queue_due, send_due
from alertbot.deliver.compose import suggestion_link
from alertbot.deliver.queue import queue_report
from alertbot.digest import build_digest
from alertbot.model import EndpointKind, Paper, Profile, Subscriber
from alertbot.readers import (
    corpus_vocabulary,
    learn_params,
    load_reader,
    ranker_for,
)
from alertbot.render import Renderer
from alertbot.render.parts import LEARNED_NOTE
from alertbot.store import deliveries
from alertbot.store import endpoints as endpoint_store
from alertbot.store import profiles as profile_store
from alertbot.store import subscribers as subscriber_store
from alertbot.store.feedback import record_feedback
from alertbot.store.outbox import OutboxRow
from alertbot.store.schema import endpoints, outbox
from tests.deliver.test_match_once import Recording
from tests.helpers.delivery import NOW, make_settings
from tests.helpers.learning import among_others, corpus, liked_decoding

INTEREST = '"language model"'


def _judge(engine: Engine, subscriber: Subscriber, papers: list[Paper]) -> None:
    for pid, value in liked_decoding(papers).items():
        record_feedback(engine, subscriber.id, pid, value, now=NOW, channel="slack")


def _reader(engine: Engine, subscribe: Any, name: str, *, cap: int, **kw: Any) -> Subscriber:
    """A reader of every corpus paper (all mention language models), ``cap`` per digest."""
    sub: Subscriber = subscribe(name, f"{name}-inbox", kind=EndpointKind.FILE,
                                interests=(INTEREST,), **kw)  # fmt: skip
    profile = Profile((INTEREST,), max_papers=cap)
    return profile_store.set_profile(engine, sub.id, profile, now=NOW - timedelta(days=3))


def _rows(engine: Engine) -> dict[int, OutboxRow]:
    return {r.subscriber_id: r for r in deliveries.list_rows(engine)}


def _raw(engine: Engine) -> dict[int, tuple[Any, ...]]:
    """Each subscriber's row as stored: papers, matches JSON, more, learning."""
    with engine.connect() as conn:
        found = conn.execute(
            select(outbox.c.subscriber_id, outbox.c.paper_ids, outbox.c.matches,
                   outbox.c.more, outbox.c.learning)
        ).all()  # fmt: skip
    return {r[0]: tuple(r[1:]) for r in found}


def test_learning_off_and_no_feedback_give_the_same_row_byte_for_byte(
    tmp_path: Path, engine: Engine, stock: Callable[..., list[Paper]], subscribe: Any
) -> None:
    """A reader with feedback who turned learning off, and one with no feedback at all,
    get rows identical to the byte (papers, matches JSON, more) and no learning part."""
    papers = stock(corpus())
    off = _reader(engine, subscribe, "off", cap=6)
    subscriber_store.update_subscriber(engine, off.id, now=NOW, learning=False)
    _judge(engine, off, papers)
    fresh = _reader(engine, subscribe, "fresh", cap=6)
    queue_due(engine, make_settings(tmp_path), now=NOW)
    raw = _raw(engine)
    assert raw[off.id] == raw[fresh.id]
    assert raw[off.id][3] is None
    assert len(raw[off.id][0]) == 6


def test_a_reader_with_enough_feedback_gets_their_models_order_and_cap(
    tmp_path: Path, engine: Engine, stock: Callable[..., list[Paper]], subscribe: Any
) -> None:
    """The six capped papers are the decoding papers the reader likes, not the keyword
    order's first six, and the row is what build_digest gives with the reader's ranker."""
    papers = stock(corpus())
    ada = _reader(engine, subscribe, "ada", cap=6)
    _judge(engine, ada, papers)
    keyword = _reader(engine, subscribe, "keyword", cap=6)
    settings = make_settings(tmp_path)
    queue_due(engine, settings, now=NOW)
    rows = _rows(engine)
    learned, plain = rows[ada.id], rows[keyword.id]
    assert learned.paper_ids != plain.paper_ids
    decoding = {p.id for p in papers[:6]}
    assert set(learned.paper_ids) == decoding
    # The same reader through the phase-A path (one reader, build_digest with a ranker).
    params = learn_params(settings)
    recent = load_corpus(engine, now=NOW, days=settings.match.corpus_days)
    vocabulary, vectors = corpus_vocabulary(recent.papers)
    sub = subscriber_store.get_subscriber(engine, ada.id)
    assert sub is not None
    state = load_reader(engine, sub, vocabulary, vectors, params)
    digest = build_digest(sub, sub.endpoints[0], NOW.date(), recent.papers, recent.stats,
                          ranker=ranker_for(state, params))  # fmt: skip
    assert learned.matches() == tuple(item.match for item in digest.items)
    stored = learned.learning()
    assert stored is not None
    assert stored.reasons == tuple(item.reason for item in digest.items)


def test_reasons_name_features_present_in_the_paper(
    tmp_path: Path, engine: Engine, stock: Callable[..., list[Paper]], subscribe: Any
) -> None:
    """Every term a stored reason names is in its paper (a paper pushed only by others
    moving past it names none), and the papers the model lifted name some."""
    papers = stock(corpus())
    ada = _reader(engine, subscribe, "ada", cap=20)
    _judge(engine, ada, papers)
    queue_due(engine, make_settings(tmp_path), now=NOW)
    row = _rows(engine)[ada.id]
    stored = row.learning()
    assert stored is not None
    by_id = {p.id: p for p in papers}
    moved = [(pid, r) for pid, r in zip(row.paper_ids, stored.reasons, strict=True) if r]
    assert any(r.terms for _, r in moved if r.direction == "up")
    for pid, reason in moved:
        text = f"{by_id[pid].title} {by_id[pid].abstract}".lower()
        assert all(term.lower() in text for term in reason.terms)


def test_it_is_deterministic_for_fixed_feedback(
    tmp_path: Path, engine: Engine, stock: Callable[..., list[Paper]], subscribe: Any
) -> None:
    """Queued again (the row deleted), the same verdicts give the same bytes, with the
    vocabulary fitted afresh or taken from the cache."""
    papers = stock(corpus())
    ada = _reader(engine, subscribe, "ada", cap=8)
    _judge(engine, ada, papers)
    settings = make_settings(tmp_path)
    caches = TickCaches()
    seen = []
    for _ in range(3):
        queue_due(engine, settings, now=NOW, caches=caches)
        seen.append(_raw(engine)[ada.id])
        with engine.begin() as conn:
            conn.execute(outbox.delete())
        endpoint_store.set_endpoint_active(engine, ada.endpoints[0].id, True)
        with engine.begin() as conn:
            conn.execute(endpoints.update().values(last_digest_date=None, next_due_at=None))
    assert seen[0] == seen[1] == seen[2]
    assert seen[0][3] is not None


def test_weight_zero_turns_it_off_for_everyone(
    tmp_path: Path, engine: Engine, stock: Callable[..., list[Paper]], subscribe: Any
) -> None:
    """[learn] weight = 0: keyword order, no learning part, however much feedback."""
    papers = stock(corpus())
    ada = _reader(engine, subscribe, "ada", cap=6)
    _judge(engine, ada, papers)
    settings = make_settings(tmp_path).model_copy(
        update={"learn": make_settings(tmp_path).learn.model_copy(update={"weight": 0.0})}
    )
    report = queue_report(engine, settings, now=NOW)
    assert report.queued == 1
    assert _raw(engine)[ada.id][3] is None


def test_the_worker_renders_the_stored_reasons_and_the_header_note(
    tmp_path: Path, engine: Engine, stock: Callable[..., list[Paper]], subscribe: Any
) -> None:
    """Sent, the digest is marked learned with each paper's stored reason, and its email
    says the feedback ordered it and why a paper moved."""
    papers = stock(corpus())
    ada = _reader(engine, subscribe, "ada", cap=20)
    _judge(engine, ada, papers)
    queue_due(engine, make_settings(tmp_path), now=NOW)
    row = _rows(engine)[ada.id]
    stored = row.learning()
    assert stored is not None
    channel = Recording(tmp_path / "out")
    send_due(engine, make_settings(tmp_path), now=lambda: NOW + timedelta(minutes=5),
             channels={EndpointKind.FILE: channel})  # fmt: skip
    (digest,) = channel.digests
    assert digest.learned
    assert tuple(item.reason for item in digest.items) == stored.reasons
    email = Renderer(public_url="https://alertbot.example.org").email(
        digest, unsubscribe_url="https://alertbot.example.org/u"
    )
    assert LEARNED_NOTE.split(".")[0] in email.text
    assert "ranked up" in email.text.lower()


def test_the_days_suggestions_are_stored_and_offered_in_the_footer(
    tmp_path: Path, engine: Engine, stock: Callable[..., list[Paper]], subscribe: Any
) -> None:
    """On a corpus where decoding is a rare topic, the learned row stores the day's
    suggestions; the sent digest carries them, and its email links each to its page."""
    papers = stock(among_others())
    ada = _reader(engine, subscribe, "ada", cap=6)
    _judge(engine, ada, papers)
    settings = make_settings(tmp_path)
    queue_due(engine, settings, now=NOW)
    stored = _rows(engine)[ada.id].learning()
    assert stored is not None
    assert ("interest", '"speculative decoding"') in {(s.kind, s.query) for s in stored.suggestions}
    channel = Recording(tmp_path / "out")
    send_due(engine, settings, now=lambda: NOW + timedelta(minutes=5),
             channels={EndpointKind.FILE: channel})  # fmt: skip
    (digest,) = channel.digests
    assert digest.suggestions == stored.suggestions
    email = Renderer(public_url="https://alertbot.example.org").email(
        digest,
        unsubscribe_url="https://alertbot.example.org/u",
        suggestion_url=functools.partial(suggestion_link, settings, ada.id),
    )
    assert email.text.count("https://alertbot.example.org/suggestion?token=") == len(
        stored.suggestions
    )


def test_a_learned_rows_rest_lists_every_match_beyond_the_cap_in_learned_order(
    tmp_path: Path, engine: Engine, stock: Callable[..., list[Paper]], subscribe: Any
) -> None:
    """The matches the cap leaves out are stored (for the web page) in the model's order:
    a capped reader's papers then rest are an uncapped reader's papers, both with the
    same verdicts, and that order is not the keyword reader's."""
    papers = stock(corpus())
    capped = _reader(engine, subscribe, "capped", cap=4)
    whole = _reader(engine, subscribe, "whole", cap=len(papers))
    for reader in (capped, whole):
        _judge(engine, reader, papers)
    keyword = _reader(engine, subscribe, "keyword", cap=4)
    queue_due(engine, make_settings(tmp_path), now=NOW)
    rows = _rows(engine)
    assert rows[capped.id].learning() is not None
    rest = [m.paper_id for m in rows[capped.id].rest()]
    assert len(rest) == rows[capped.id].more == len(papers) - 4
    assert [*rows[capped.id].paper_ids, *rest] == list(rows[whole.id].paper_ids)
    plain = rows[keyword.id]
    assert [*plain.paper_ids, *(m.paper_id for m in plain.rest())] != [
        *rows[capped.id].paper_ids,
        *rest,
    ]
    assert {m.paper_id for m in plain.rest()} | set(plain.paper_ids) == {p.id for p in papers}
