"""A whole profile: interests, exclusions, minimum score; validation, matching, ranking."""

from __future__ import annotations

import functools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date

from alertbot.match.evaluate import Doc, HitPart, PaperKey, doc_for, explain, matches, paper_key
from alertbot.match.like import LIKE_EXCLUSION, is_like
from alertbot.match.query import Query, QueryError, parse_query
from alertbot.match.score import CorpusStats
from alertbot.model import Hit, Match, Paper, Profile

# A tick compiles an index per planning bucket, and readers share interests across the
# buckets (100,000 realistic profiles: 109,168 parses of 40,236 distinct texts, 1.3 s
# of a cold tick), so each text is parsed once a process. Parsing is a pure function of
# the text and the limits and the trees are frozen, so they are shared safely; a text
# that fails is not cached (lru_cache keeps no exceptions) and fails again the same way.
_parse = functools.lru_cache(maxsize=1 << 17)(parse_query)


@dataclass(frozen=True, slots=True)
class CompiledProfile:
    """A profile whose every query is parsed."""

    interests: tuple[Query, ...]
    exclusions: tuple[Query, ...]
    min_score: float


def compile_profile(
    profile: Profile, *, max_length: int = 500, max_clauses: int = 40
) -> CompiledProfile:
    """Parse every interest and exclusion; the error names the one that failed."""
    interests = tuple(
        parse_labelled(q, f"interest {i}", max_length, max_clauses)
        for i, q in enumerate(profile.interests, 1)
    )
    exclusions = tuple(
        parse_labelled(q, f"exclusion {i}", max_length, max_clauses, exclusion=True)
        for i, q in enumerate(profile.exclusions, 1)
    )
    return CompiledProfile(interests, exclusions, profile.min_score)


def parse_labelled(
    text: str, label: str, max_length: int, max_clauses: int, *, exclusion: bool = False
) -> Query:
    try:
        if exclusion and is_like(text):
            raise QueryError(LIKE_EXCLUSION, 1)
        return _parse(text, max_length=max_length, max_clauses=max_clauses)
    except QueryError as exc:
        raise QueryError(f"{label} {text!r}: {exc.message}", exc.column) from exc


def validate_profile(profile: Profile, *, max_length: int = 500, max_clauses: int = 40) -> None:
    """Raise :class:`QueryError` naming the first interest or exclusion that does not parse."""
    compile_profile(profile, max_length=max_length, max_clauses=max_clauses)


def build_match(paper: Paper, matched: Iterable[tuple[str, float, Sequence[HitPart]]]) -> Match:
    """Combine the interests (text, score, hits) that matched one paper into a :class:`Match`."""
    score = 0.0
    names: list[str] = []
    hits: list[Hit] = []
    for text, part_score, parts in matched:
        score += part_score
        names.append(text)
        hits.extend(Hit(text, p.field, p.term, p.spans) for p in parts)
    return Match(paper.id, score, tuple(names), tuple(hits))


def match_one(compiled: CompiledProfile, doc: Doc, stats: CorpusStats) -> Match | None:
    """The profile's match for one paper, or None (no interest, an exclusion, low score)."""
    hit = [q for q in compiled.interests if matches(q.root, doc)]
    if not hit or any(matches(q.root, doc) for q in compiled.exclusions):
        return None
    match = build_match(doc.paper, ((q.text, *explain(q.root, doc, stats)) for q in hit))
    return match if match.score >= compiled.min_score else None


def rank(matches_: list[Match], papers: dict[str, Paper]) -> list[Match]:
    """Best first: score desc, then published desc (undated last), then paper id."""

    def key(m: Match) -> tuple[float, int, str]:
        published = papers[m.paper_id].published
        return (-m.score, -(published or date.min).toordinal(), m.paper_id)

    return sorted(matches_, key=key)


def match_profile(profile: Profile, papers: Sequence[Paper], stats: CorpusStats) -> list[Match]:
    """Every paper the profile matches, ranked; does not apply ``max_papers``.

    Raises :class:`QueryError` if the profile does not parse.
    """
    compiled = compile_profile(profile)
    found: list[Match] = []
    by_id: dict[str, Paper] = {}
    for paper in papers:
        match = match_one(compiled, doc_for(paper), stats)
        if match is not None:
            found.append(match)
            by_id[paper.id] = paper
    return rank(found, by_id)


def explain_match(match: Match, paper: Paper) -> Match:
    """A match stored bare (a digest's papers as the dispatcher stores them: the
    profile's interests, no hits) as the matcher makes it: the interests whose query is
    true on ``paper``, with their hits. The score is kept as stored.

    An interest that no longer parses (a parser grown stricter since) is left out. For
    many matches, an :class:`Explainer` does the same with what recurs kept.
    """
    return Explainer()(match, paper)


class Explainer:
    """:func:`explain_match` for many stored matches, keeping what recurs between them.

    Readers share interests and papers: one popular interest on one paper is explained
    for every reader who has it. Each interest is parsed once and each (interest, paper)
    explained once, while the paper's text is the same; ``limit`` bounds what is kept
    (the memo is emptied when it is reached), so a long-running worker does not grow.
    """

    def __init__(self, limit: int = 100_000) -> None:
        self.limit = limit
        self._queries: dict[str, Query | None] = {}
        self._parts: dict[tuple[str, PaperKey], tuple[Hit, ...] | None] = {}

    def __call__(self, match: Match, paper: Paper) -> Match:
        names: list[str] = []
        hits: list[Hit] = []
        doc: Doc | None = None
        key = paper_key(paper)
        for text in match.interests:
            try:
                found = self._parts[(text, key)]
            except KeyError:
                if doc is None:
                    doc = doc_for(paper)
                found = self._explain(text, doc)
                if len(self._parts) >= self.limit:
                    self._parts.clear()
                self._parts[(text, key)] = found
            if found is not None:
                names.append(text)
                hits.extend(found)
        return Match(match.paper_id, match.score, tuple(names), tuple(hits))

    def _explain(self, text: str, doc: Doc) -> tuple[Hit, ...] | None:
        """The interest's hits on ``doc``, or None where it is not true (or not valid)."""
        if text not in self._queries:
            if len(self._queries) >= self.limit:
                self._queries.clear()
            try:
                self._queries[text] = parse_query(text)
            except QueryError:
                self._queries[text] = None
        query = self._queries[text]
        if query is None or not matches(query.root, doc):
            return None
        # The spans do not depend on the statistics, only the scores (kept as stored).
        _, parts = explain(query.root, doc, _NO_STATS)
        return tuple(Hit(text, p.field, p.term, p.spans) for p in parts)


_NO_STATS = CorpusStats.empty()
