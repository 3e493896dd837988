"""Keyword profiles: the query language, normalisation, scoring and the profile index.

Pure: no I/O, corpus statistics are passed in. The README documents the query language
and the scoring.
"""

from __future__ import annotations

from alertbot.match.index import ProfileIndex
from alertbot.match.naive import naive_match
from alertbot.match.profile import match_profile, validate_profile
from alertbot.match.query import Query, QueryError, parse_query
from alertbot.match.score import CorpusStats

__all__ = [
    "CorpusStats",
    "ProfileIndex",
    "Query",
    "QueryError",
    "match_profile",
    "naive_match",
    "parse_query",
    "validate_profile",
]
