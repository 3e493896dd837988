"""Keyword profiles: the query language, normalisation, scoring and the profile index.

Pure: no I/O, corpus statistics are passed in. The README documents the query language
and the scoring.

The API, for one profile and for many:

- ``match_profile(profile, papers, stats) -> list[Match]``: the reference evaluator,
  ranked; obviously correct, one profile at a time.
- ``ProfileIndex.build(profiles)`` compiles many profiles once (raises ``QueryError``
  naming the first bad one); ``IndexCache().get(profiles)`` keeps it across ticks while
  the profiles are unchanged.
- ``index.table(papers, stats) -> MatchTable``: every profile's ranked matches as
  columns (paper index, score); ``count(key)``, ``rows(key)``, ``top(key, cap) ->
  (Matches, more)``, ``matches(key) -> LazyMatches`` (list-like; a Match with its hits
  is built only when taken, so a digest builds only what it shows). Every Match equals
  ``match_profile``'s, score bit for bit.
- ``index.match(papers, stats) -> dict[key, list[Match]]``: all of it, built.
- ``explain_match(match, paper)``: the hits of a match stored without them;
  ``Explainer()`` does it for many, each (interest, paper) once.
"""

from __future__ import annotations

from alertbot.match.cache import IndexCache
from alertbot.match.index import ProfileIndex
from alertbot.match.naive import naive_match
from alertbot.match.profile import Explainer, explain_match, match_profile, validate_profile
from alertbot.match.query import Query, QueryError, parse_query
from alertbot.match.score import CorpusStats
from alertbot.match.table import LazyMatches, MatchTable

__all__ = [
    "CorpusStats",
    "Explainer",
    "IndexCache",
    "LazyMatches",
    "MatchTable",
    "ProfileIndex",
    "Query",
    "QueryError",
    "explain_match",
    "match_profile",
    "naive_match",
    "parse_query",
    "validate_profile",
]
