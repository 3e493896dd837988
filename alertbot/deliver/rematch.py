"""Matches remembered for one ``send_due`` run, so a shared profile is matched once per paper.

At send time a row's digest is rebuilt from its stored papers, the match re-run for the
highlights. Subscribers often share interests (a team, a course, a default profile),
and then the same (profile, paper) pair is matched for every one of them. A match
depends only on the profile's queries, the paper and the corpus statistics, and the
statistics are fixed for the run, so the cache lives exactly as long as the run.
"""

from __future__ import annotations

from collections.abc import Sequence

from alertbot.match import CorpusStats, match_profile
from alertbot.match.profile import rank
from alertbot.model import Match, Paper, Profile

_Key = tuple[tuple[str, ...], tuple[str, ...], float]


class MatchCache:
    """A drop-in for ``match_profile`` (see ``digest.Matcher``) for one fixed ``stats``."""

    def __init__(self, stats: CorpusStats) -> None:
        self.stats = stats
        self._known: dict[tuple[_Key, str], Match | None] = {}

    def __call__(
        self, profile: Profile, papers: Sequence[Paper], stats: CorpusStats
    ) -> list[Match]:
        if stats is not self.stats:  # another corpus: nothing here applies
            return match_profile(profile, papers, stats)
        key: _Key = (profile.interests, profile.exclusions, profile.min_score)
        missing = [p for p in papers if (key, p.id) not in self._known]
        if missing:
            # Raises QueryError for a profile that does not parse; nothing is cached then.
            found = {m.paper_id: m for m in match_profile(profile, missing, stats)}
            for paper in missing:
                self._known[(key, paper.id)] = found.get(paper.id)
        matches = [m for p in papers if (m := self._known[(key, p.id)]) is not None]
        return rank(matches, {p.id: p for p in papers})
