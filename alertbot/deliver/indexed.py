"""One matching pass for a whole dispatcher tick, handed out per endpoint.

Every due profile is indexed once (``ProfileIndex``) and matched against the union of
the due endpoints' candidate papers. A match depends only on the profile, the paper
and the corpus statistics, never on which other papers are in the batch, and the index
ranks exactly as ``match_profile`` does (score, then published date, then id: a total
order, since ids are unique). So an endpoint's digest is the subscriber's ranked
matches over the union, kept to that endpoint's own candidates, cut at the cap: that
is :meth:`IndexedMatches.chosen`, which walks the ranked list once and builds nothing
for the papers beyond the cap but their count.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping

from alertbot.match import CorpusStats, ProfileIndex, QueryError, validate_profile
from alertbot.model import Match, Paper, Profile

_Queries = tuple[tuple[str, ...], tuple[str, ...]]


class IndexedMatches:
    """The matches of ``profiles`` (keyed by subscriber id) among ``papers``, computed once."""

    def __init__(
        self, profiles: Mapping[int, Profile], papers: Iterable[Paper], stats: CorpusStats
    ) -> None:
        self.stats = stats
        # ProfileIndex.build refuses the whole set for one bad profile: leave those out,
        # remembering why (their digests are planned dead with that reason). Many
        # subscribers share a profile, so each distinct one is parsed once here.
        parses: dict[_Queries, QueryError | None] = {}
        self.errors: dict[int, QueryError] = {}
        valid: dict[int, Profile] = {}
        for key, profile in profiles.items():
            queries = (profile.interests, profile.exclusions)
            if queries not in parses:
                parses[queries] = _error(profile)
            error = parses[queries]
            if error is None:
                valid[key] = profile
            else:
                self.errors[key] = error
        union = list({paper.id: paper for paper in papers}.values())
        self.found = ProfileIndex.build(valid).match(union, stats) if valid else {}

    def chosen(self, key: int, allows: Callable[[str], bool], cap: int) -> tuple[list[Match], int]:
        """Subscriber ``key``'s best ``cap`` matches among the papers ``allows`` accepts,
        and how many more it matched there. Raises the profile's ``QueryError``."""
        if key in self.errors:
            raise self.errors[key]
        shown: list[Match] = []
        more = 0
        for match in self.found.get(key, ()):
            if allows(match.paper_id):
                if len(shown) < cap:
                    shown.append(match)
                else:
                    more += 1
        return shown, more


def _error(profile: Profile) -> QueryError | None:
    try:
        validate_profile(profile)
    except QueryError as exc:
        return exc
    return None
