"""The reference matcher: every profile against every paper, no index.

Slow by design and obviously correct; the benchmark and the tests compare the
indexed matcher (:mod:`alertbot.match.index`) against it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TypeVar

from alertbot.match.evaluate import doc_for
from alertbot.match.profile import compile_profile, match_one, rank
from alertbot.match.score import CorpusStats
from alertbot.model import Match, Paper, Profile

K = TypeVar("K")
CHUNK = 4096  # papers held tokenised at once, well inside the tokenised-paper cache


def naive_match(
    profiles: Mapping[K, Profile],
    papers: Sequence[Paper],
    stats: CorpusStats,
    *,
    chunk: int = CHUNK,
) -> dict[K, list[Match]]:
    """``match_profile`` for each profile; profiles without matches are left out.

    The same steps as ``match_profile`` (``match_one`` on every paper in order, then
    ``rank``), the loops turned round: ``chunk`` papers at a time for every profile.
    Profile by profile, more papers than the tokenised-paper cache holds (10,000) had
    every profile tokenise every paper again, and 100 profiles took minutes.
    """
    compiled = {key: compile_profile(profile) for key, profile in profiles.items()}
    found: dict[K, list[Match]] = {key: [] for key in profiles}
    by_id: dict[K, dict[str, Paper]] = {key: {} for key in profiles}  # as match_profile's
    for start in range(0, len(papers), chunk):
        part = papers[start : start + chunk]
        docs = [doc_for(paper) for paper in part]
        for key, profile in compiled.items():
            into, seen = found[key], by_id[key]
            for paper, doc in zip(part, docs, strict=True):
                match = match_one(profile, doc, stats)
                if match is not None:
                    into.append(match)
                    seen[paper.id] = paper
    return {key: rank(matches, by_id[key]) for key, matches in found.items() if matches}
