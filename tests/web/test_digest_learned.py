"""The web page of a digest the learned ranking ordered: it says so, lists every match in
the stored (learned) order, and shows the reasons stored with the papers the message
showed; the papers beyond the cap have none (the row keeps only the shown ones')."""

from __future__ import annotations

import re
from datetime import timedelta
from html import escape, unescape

from sqlalchemy import update

from alertbot.deliver import queue_due
from alertbot.render.parts import LEARNED_NOTE, reason_text, sentence
from alertbot.store import archive
from alertbot.store.feedback import record_feedback
from alertbot.store.outbox import OutboxRow
from alertbot.store.papers import upsert_papers
from alertbot.store.schema import outbox
from tests.helpers.digests import listed_papers, page_link, reader
from tests.helpers.learning import corpus, liked_decoding
from tests.helpers.slack import World

INTEREST = '"language model"'


def _queued(world: World, *, judged: bool, cap: int = 4) -> OutboxRow:
    """One reader of the learning corpus (every paper matches), with or without the
    verdicts that turn their learned ranking on, after one real tick."""
    stocked = corpus()
    upsert_papers(world.engine, stocked, source="test", now=world.clock() - timedelta(hours=1))
    sid = reader(world, "ada", (INTEREST,), cap=cap)
    if judged:
        for pid, value in liked_decoding(stocked).items():
            record_feedback(world.engine, sid, pid, value, now=world.clock(), channel="slack")
    queue_due(world.engine, world.settings, now=world.clock())
    (row,) = archive.reader_rows(world.engine, sid, limit=5)
    return row


def _sections(html: str) -> dict[str, str]:
    """Each listed paper's section of the page, by paper id."""
    found = re.findall(r'<section id="p-([^"]*)">(.*?)</section>', html, re.DOTALL)
    return {unescape(pid): body for pid, body in found}


def test_a_learned_digests_page_says_so_and_shows_the_stored_reasons(world: World) -> None:
    """The note is under the title; each shown paper the model moved carries its stored
    reason, in the email's words; the papers beyond the cap follow in learned order."""
    row = _queued(world, judged=True)
    stored = row.learning()
    assert stored is not None
    assert any(stored.reasons)
    page = world.http.get(page_link(world, row))
    assert page.status_code == 200
    assert page.text.count(escape(LEARNED_NOTE)) == 1
    assert listed_papers(page.text) == [*row.paper_ids, *(m.paper_id for m in row.rest())]
    sections = _sections(page.text)
    for pid, reason in zip(row.paper_ids, stored.reasons, strict=True):
        if reason is not None:
            assert escape(sentence(reason_text(reason))) in sections[pid]
        else:
            assert "Ranked " not in sections[pid]
    for match in row.rest():
        assert "Ranked " not in sections[match.paper_id]


def test_a_keyword_digests_page_has_no_learned_note_or_reasons(world: World) -> None:
    """Without enough feedback the row is in keyword order: no note, no reason."""
    row = _queued(world, judged=False)
    assert row.learning() is None
    page = world.http.get(page_link(world, row))
    assert page.status_code == 200
    assert escape(LEARNED_NOTE) not in page.text
    assert "Ranked " not in page.text


def test_a_damaged_learning_column_still_opens_the_page_without_reasons(world: World) -> None:
    """A learning part that does not read (the worker would not send that row) leaves the
    page listing every paper, with no reasons, rather than failing."""
    row = _queued(world, judged=True)
    with world.engine.begin() as conn:
        conn.execute(update(outbox).where(outbox.c.id == row.id).values(learning="{not json"))
    page = world.http.get(page_link(world, row))
    assert page.status_code == 200
    assert listed_papers(page.text) == [*row.paper_ids, *(m.paper_id for m in row.rest())]
    assert "Ranked " not in page.text
