"""One matching pass for a whole dispatcher tick, handed out per subscriber.

Every due profile is indexed once (``ProfileIndex``) and matched against the union of
the due endpoints' candidate papers. A match depends only on the profile, the paper
and the corpus statistics, never on which other papers are in the batch, and the index
ranks exactly as ``match_profile`` does (score, then published date, then id: a total
order, since ids are unique). So an endpoint's matches are the subscriber's matches
over the union, kept to that endpoint's own candidates, in the same order.

The matches are a ``MatchTable``: a digest takes its first ``max_papers`` Matches
(only those are built, with their hits) and counts the rest. Pass an ``IndexCache``
kept by the dispatcher to reuse the compiled profiles from tick to tick.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from alertbot.digest import Matcher
from alertbot.match import (
    CorpusStats,
    IndexCache,
    MatchTable,
    QueryError,
    match_profile,
    validate_profile,
)
from alertbot.model import Match, Paper, Profile

_Queries = tuple[tuple[str, ...], tuple[str, ...]]


class IndexedMatches:
    """The matches of ``profiles`` (keyed by subscriber id) among ``papers``, computed once."""

    def __init__(
        self,
        profiles: Mapping[int, Profile],
        papers: Iterable[Paper],
        stats: CorpusStats,
        cache: IndexCache[int] | None = None,
    ) -> None:
        self.stats = stats
        self.profiles = dict(profiles)
        # ProfileIndex.build refuses the whole set for one bad profile: leave those out
        # (their digests go through match_profile, which raises the usual QueryError).
        # Many subscribers share a profile, so each distinct one is parsed once here.
        parses: dict[_Queries, bool] = {}
        valid: dict[int, Profile] = {}
        for key, profile in self.profiles.items():
            queries = (profile.interests, profile.exclusions)
            if queries not in parses:
                parses[queries] = _parses(profile)
            if parses[queries]:
                valid[key] = profile
        union = list({paper.id: paper for paper in papers}.values())
        index = (cache or IndexCache()).get(valid)
        self.table: MatchTable[int] = index.table(union, stats)
        self.valid = set(valid)

    def matcher(self, key: int) -> Matcher:
        """A ``match_profile`` stand-in for subscriber ``key`` (see ``digest.Matcher``)."""

        def match(profile: Profile, papers: Sequence[Paper], stats: CorpusStats) -> Sequence[Match]:
            indexed = key in self.valid and profile == self.profiles[key] and stats is self.stats
            if not indexed:  # a broken profile, or not what was indexed: the reference path
                return match_profile(profile, papers, stats)
            return self.table.matches(key).among({paper.id for paper in papers})

        return match


def _parses(profile: Profile) -> bool:
    try:
        validate_profile(profile)
    except QueryError:
        return False
    return True
