"""Acceptance on the real bundled listing dump (279 Hugging Face papers)."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest

from alertbot.match import CorpusStats, match_profile
from alertbot.model import Paper, Profile
from alertbot.samples import sample_dump_paths
from alertbot.sources import load_papers


@pytest.fixture(scope="module")
def papers() -> list[Paper]:
    """The hf-papers-lines sample, parsed by the real loader."""
    [path] = [p for p in sample_dump_paths() if p.name == "hf-papers-lines.txt"]
    return load_papers(str(path), now=datetime(2026, 1, 1, tzinfo=UTC))


def text(paper: Paper) -> str:
    return f"{paper.title}\n{paper.abstract}"


def test_it_lists_only_nmt_papers_for_the_nmt_query(papers: list[Paper]) -> None:
    """Every paper listed contains the phrase or NMT, and every such paper is listed."""
    profile = Profile(('"neural machine translation" OR NMT',))
    found = [m.paper_id for m in match_profile(profile, papers, CorpusStats.from_papers(papers))]
    loose = re.compile(r"\bnmts?\b|neural[\W_]+machines?[\W_]+translat", re.IGNORECASE)
    strict = re.compile(r"\bNMT\b|neural machine translation", re.IGNORECASE)
    by_id = {p.id: p for p in papers}
    assert found, "the dump has NMT papers"
    assert all(loose.search(text(by_id[i])) for i in found)
    assert {p.id for p in papers if strict.search(text(p))} <= set(found)


def test_it_ranks_papers_with_nmt_in_the_title_first(papers: list[Paper]) -> None:
    """A paper naming NMT in its title outranks those that only mention it in the abstract."""
    stats = CorpusStats.from_papers(papers)
    found = match_profile(Profile(('"neural machine translation" OR NMT',)), papers, stats)
    fields = [{h.field for h in m.hits} for m in found]
    in_title = [i for i, f in enumerate(fields) if "title" in f]
    assert in_title == list(range(len(in_title)))
    assert in_title, "at least one title mentions NMT"


def test_it_never_returns_a_survey_for_attention_minus_survey(papers: list[Paper]) -> None:
    """'attention -survey' lists attention papers, none containing survey or surveys."""
    survey = re.compile(r"\bsurveys?\b", re.IGNORECASE)
    attention = re.compile(r"\battention\b", re.IGNORECASE)
    assert any(survey.search(text(p)) and attention.search(text(p)) for p in papers)
    stats = CorpusStats.from_papers(papers)
    found = match_profile(Profile(("attention -survey",)), papers, stats)
    by_id = {p.id: p for p in papers}
    assert found
    assert not [m.paper_id for m in found if survey.search(text(by_id[m.paper_id]))]
