"""Real captures of arXiv and Hugging Face, compared field by field with an independent reading.

The fixtures in ``tests/fixtures/real/`` are byte-exact excerpts of what the services
answered (see PROVENANCE.md). Each test below reads the same bytes a second way, with
``xml.etree.ElementTree`` or ``json`` and nothing of alertbot's, and requires every
field of every parsed paper to agree with it.
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from collections.abc import Callable
from datetime import UTC, date, datetime
from email.utils import parsedate_to_datetime
from typing import Any

import pytest

from alertbot.model import Paper
from alertbot.parse import parse_bytes
from tests.helpers import FIXTURES

REAL = FIXTURES / "real"
FETCHED = datetime(2026, 10, 1, tzinfo=UTC)
NS = {
    "a": "http://www.w3.org/2005/Atom",
    "arxiv": "http://arxiv.org/schemas/atom",
    "dc": "http://purl.org/dc/elements/1.1/",
}
Expected = dict[str, Any]


def flat(text: str | None) -> str:
    return " ".join((text or "").split())


def bare_id(raw: str) -> str:
    """2609.26811 from oai:arXiv.org:2609.26811v1 or http://arxiv.org/abs/2609.26811v1."""
    return re.sub(r"v\d+$", "", raw.rsplit(":", 1)[-1].rsplit("/abs/", 1)[-1])


def after_abstract_prefix(text: str) -> tuple[str, str]:
    """(announce type, abstract) of a listing feed's ``arXiv:… Announce Type: T Abstract: …``."""
    head, _, abstract = text.partition("Abstract:")
    return head.split("Announce Type:")[1].strip(), abstract.strip()


def read_rss(data: bytes) -> list[Expected]:
    rows = []
    for item in ET.fromstring(data).find("channel").iter("item"):  # type: ignore[union-attr]
        announce, abstract = after_abstract_prefix(flat(item.findtext("description")))
        ident = bare_id(item.findtext("guid") or "")
        categories = [c.text for c in item.iter("category")]
        rows.append(
            {
                "id": ident,
                "arxiv_id": ident,
                "title": flat(item.findtext("title")),
                "abstract": abstract,
                "authors": tuple(flat(item.findtext("dc:creator", namespaces=NS)).split(", ")),
                "categories": tuple(categories),
                "primary_category": categories[0],
                "announce_type": announce,
                "doi": item.findtext("arxiv:DOI", namespaces=NS),
                "published": parsedate_to_datetime(item.findtext("pubDate") or "").date(),
                "url": f"https://arxiv.org/abs/{ident}",
            }
        )
    return rows


def read_atom_listing(data: bytes) -> list[Expected]:
    rows = []
    for entry in ET.fromstring(data).iterfind("a:entry", NS):
        announce, abstract = after_abstract_prefix(flat(entry.findtext("a:summary", namespaces=NS)))
        ident = bare_id(entry.findtext("a:id", namespaces=NS) or "")
        categories = [c.get("term") for c in entry.iterfind("a:category", NS)]
        rows.append(
            {
                "id": ident,
                "title": flat(entry.findtext("a:title", namespaces=NS)),
                "abstract": abstract,
                "authors": tuple(flat(entry.findtext("dc:creator", namespaces=NS)).split(", ")),
                "categories": tuple(categories),
                "primary_category": categories[0],
                "announce_type": announce,
                "doi": entry.findtext("arxiv:DOI", namespaces=NS),
                "journal_ref": entry.findtext("arxiv:journal_reference", namespaces=NS),
                "published": date.fromisoformat(
                    (entry.findtext("a:published", namespaces=NS) or "")[:10]
                ),
                "url": f"https://arxiv.org/abs/{ident}",
            }
        )
    return rows


def read_export_api(data: bytes) -> list[Expected]:
    rows = []
    for entry in ET.fromstring(data).iterfind("a:entry", NS):
        ident = bare_id(entry.findtext("a:id", namespaces=NS) or "")
        primary = entry.find("arxiv:primary_category", NS)
        rows.append(
            {
                "id": ident,
                "title": flat(entry.findtext("a:title", namespaces=NS)),
                "abstract": flat(entry.findtext("a:summary", namespaces=NS)),
                "authors": tuple(
                    flat(a.findtext("a:name", namespaces=NS))
                    for a in entry.iterfind("a:author", NS)
                ),
                "categories": tuple(c.get("term") for c in entry.iterfind("a:category", NS)),
                "primary_category": primary.get("term") if primary is not None else None,
                "announce_type": None,
                "doi": entry.findtext("arxiv:doi", namespaces=NS),
                "journal_ref": entry.findtext("arxiv:journal_ref", namespaces=NS),
                "published": date.fromisoformat(
                    (entry.findtext("a:published", namespaces=NS) or "")[:10]
                ),
                "url": f"https://arxiv.org/abs/{ident}",
            }
        )
    return rows


def read_hf(data: bytes) -> list[Expected]:
    rows = []
    for row in json.loads(data):
        paper = row["paper"]
        rows.append(
            {
                "id": paper["id"],
                "title": flat(paper["title"]),
                "abstract": flat(paper["summary"]),
                "authors": tuple(a["name"] for a in paper["authors"] if not a.get("hidden")),
                "upvotes": paper["upvotes"],
                "github_repo": paper.get("githubRepo") or None,
                "project_page": paper.get("projectPage") or None,
                "published": date.fromisoformat(paper["publishedAt"][:10]),
                "hf_url": f"https://huggingface.co/papers/{paper['id']}",
                "url": f"https://arxiv.org/abs/{paper['id']}",
            }
        )
    return rows


CAPTURES: list[tuple[str, Callable[[bytes], list[Expected]]]] = [
    ("rss-arxiv-cs.LG+cs.AI+cs.CL+stat.ML.rss.xml", read_rss),
    ("rss-arxiv-cs.LG.atom.xml", read_atom_listing),
    ("export-api-cat-cs.CL.atom.xml", read_export_api),
    ("hf-daily-papers.json", read_hf),
]
EVERY_ANNOUNCE_TYPE = ("new", "cross", "replace", "replace-cross")


@pytest.mark.parametrize(("name", "reader"), CAPTURES, ids=[c[0] for c in CAPTURES])
def test_it_reads_every_field_of_a_real_capture_as_an_independent_reading_does(
    name: str, reader: Callable[[bytes], list[Expected]]
) -> None:
    """Every entry of the capture is a paper whose every field equals the independent reading."""
    data = (REAL / name).read_bytes()
    result = parse_bytes(data, name=name, fetched_at=FETCHED, announce_types=EVERY_ANNOUNCE_TYPE)
    expected = reader(data)
    assert len(result.papers) == len(expected) > 0
    for paper, fields in zip(result.papers, expected, strict=True):
        got = {key: getattr(paper, key) for key in fields}
        assert got == fields


@pytest.mark.parametrize(
    "name",
    ["rss-arxiv-cs.LG+cs.AI+cs.CL+stat.ML.rss.xml", "rss-arxiv-cs.LG.atom.xml"],
)
def test_it_keeps_new_and_cross_and_counts_the_rest_of_a_real_listing(name: str) -> None:
    """By default the replacements of a real listing are skipped, and counted, not lost silently."""
    data = (REAL / name).read_bytes()
    reader = read_rss if name.endswith(".rss.xml") else read_atom_listing
    types = [row["announce_type"] for row in reader(data)]
    result = parse_bytes(data, name=name, fetched_at=FETCHED)
    assert [p.announce_type for p in result.papers] == [t for t in types if t in ("new", "cross")]
    assert result.skipped == sum(1 for t in types if t not in ("new", "cross")) > 0


def test_it_keeps_the_comment_and_licence_of_an_arxiv_entry() -> None:
    """What the feed says beyond the mapped fields (comment, licence) is kept in ``extra``."""
    data = (REAL / "export-api-cat-cs.CL.atom.xml").read_bytes()
    first: Paper = parse_bytes(data, name="api", fetched_at=FETCHED).papers[0]
    entry = ET.fromstring(data).find("a:entry", NS)
    assert entry is not None
    assert first.extra["comment"] == flat(entry.findtext("arxiv:comment", namespaces=NS))
