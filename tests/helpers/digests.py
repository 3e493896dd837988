"""Queued digests for the web page tests: real subscribers, real papers, a real tick."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import date, time, timedelta
from html import unescape

from alertbot.deliver import queue_due
from alertbot.links import digest_url
from alertbot.model import EndpointKind, Paper, Profile
from alertbot.store import archive
from alertbot.store import endpoints as endpoint_store
from alertbot.store import subscribers as store
from alertbot.store.outbox import OutboxRow
from alertbot.store.papers import upsert_papers
from tests.helpers.slack import World

WORDS = ("diffusion", "attention", "graphs", "robots", "feedback")


def papers(
    n: int, *, topic: str = "diffusion", prefix: str = "2603", long: bool = False
) -> list[Paper]:
    """``n`` papers on ``topic`` (ids ``<prefix>.<n>``), each with its own title."""
    filler = " Our method is evaluated on many benchmarks with careful ablations." * (
        12 if long else 1
    )
    return [
        Paper(
            id=f"{prefix}.{i:05d}",
            title=f"Paper {i} on {topic} at scale",
            abstract=f"We study {topic} in setting number {i}.{filler}",
            source_format="test",
            authors=("Ada Lovelace", "Grace Hopper"),
            published=date(2026, 3, 1),
            arxiv_id=f"{prefix}.{i:05d}",
        )
        for i in range(n)
    ]


def reader(world: World, name: str, interests: Sequence[str], *, cap: int) -> int:
    """A reader with one confirmed email endpoint, due at 08:00 UTC."""
    sub = store.create_subscriber(
        world.engine,
        name=name,
        now=world.clock() - timedelta(days=3),
        profile=Profile(interests=tuple(interests), max_papers=cap),
        send_time=time(8, 0),
    )
    endpoint_store.add_endpoint(
        world.engine,
        sub.id,
        EndpointKind.EMAIL,
        f"{name}@example.org",
        now=world.clock() - timedelta(days=3),
    )
    return sub.id


def queued(world: World, stocked: Sequence[Paper], readers: dict[str, tuple[str, ...]], *,
           cap: int) -> dict[str, OutboxRow]:  # fmt: skip
    """Store ``stocked``, add ``readers`` (name -> interests), run one real tick; each
    reader's queued row."""
    upsert_papers(world.engine, stocked, source="test", now=world.clock() - timedelta(hours=1))
    ids = {name: reader(world, name, interests, cap=cap) for name, interests in readers.items()}
    queue_due(world.engine, world.settings, now=world.clock())
    rows = {}
    for name, sid in ids.items():
        (row,) = archive.reader_rows(world.engine, sid, limit=5)
        rows[name] = row
    return rows


def page_link(world: World, row: OutboxRow) -> str:
    return digest_url(world.settings, row.subscriber_id, row.id)


def listed_papers(html: str) -> list[str]:
    """The paper ids a digest page lists, in order (from each paper's feedback form)."""
    return [unescape(p) for p in re.findall(r'name="paper" value="([^"]*)"', html)]


def form_fields(html: str, paper_id: str) -> tuple[str, dict[str, str]]:
    """The feedback form of ``paper_id``: its action and hidden fields."""
    for form in re.findall(r'<form class="feedback".*?</form>', html, re.DOTALL):
        fields = {
            unescape(k): unescape(v)
            for k, v in re.findall(r'<input type="hidden" name="([^"]*)" value="([^"]*)"', form)
        }
        if fields.get("paper") == paper_id:
            action = unescape(re.search(r'action="([^"]*)"', form).group(1))  # type: ignore[union-attr]
            return action, fields
    raise AssertionError(f"no feedback form for {paper_id}")
