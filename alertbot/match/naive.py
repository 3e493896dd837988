"""The reference matcher: every profile against every paper, no index.

Slow by design and obviously correct; the benchmark and the tests compare the
indexed matcher (:mod:`alertbot.match.index`) against it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TypeVar

from alertbot.match.profile import match_profile
from alertbot.match.score import CorpusStats
from alertbot.model import Match, Paper, Profile

K = TypeVar("K")


def naive_match(
    profiles: Mapping[K, Profile], papers: Sequence[Paper], stats: CorpusStats
) -> dict[K, list[Match]]:
    """``match_profile`` for each profile; profiles without matches are left out."""
    out: dict[K, list[Match]] = {}
    for key, profile in profiles.items():
        found = match_profile(profile, papers, stats)
        if found:
            out[key] = found
    return out
