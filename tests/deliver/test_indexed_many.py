"""Choosing many readers' digests in one pass gives exactly what one call per reader does."""

from __future__ import annotations

import random
from datetime import UTC, datetime

import numpy as np

from alertbot.bench.workload import real_papers, realistic_profiles
from alertbot.deliver.indexed import IndexedMatches
from alertbot.match import CorpusStats
from alertbot.model import Profile
from alertbot.samples import sample_dump_paths
from alertbot.sources import load_papers

NOW = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)


def test_many_readers_at_once_are_chosen_as_one_at_a_time() -> None:
    """600 realistic readers over 400 real papers, each with its own start (which recent
    papers are new to it) and cap (0, 1, 5, 20, or more than it matched), and a small
    ``keep``: shown, rest and the count beyond the cap equal chosen_since's, reader by
    reader; a profile that does not parse and an unknown reader are left out."""
    rng = random.Random(7)  # reproducible test data, not secrets
    seed = [p for path in sample_dump_paths() for p in load_papers(str(path), now=NOW)]
    papers = real_papers(seed, 400)
    profiles: dict[int, Profile] = dict(realistic_profiles(papers, 600))
    profiles[10_000] = Profile(('"unclosed',))
    matches = IndexedMatches(profiles, papers, CorpusStats.from_papers(papers))
    positions = np.array(rng.sample(range(len(papers)), len(papers)), dtype=np.int64)
    wanted = {
        key: (rng.randrange(len(papers)), rng.choice((0, 1, 5, 20, 1000)))
        for key in [*profiles, 20_000]
    }
    many = matches.chosen_since_many(wanted, positions, keep=7)
    assert 10_000 not in many
    assert 20_000 not in many
    assert len(many) == 600
    for key, result in many.items():
        start, cap = wanted[key]
        assert result == matches.chosen_since(key, positions, start, cap, keep=7)
    assert sum(len(shown) for shown, _, _ in many.values()) > 1000  # not a vacuous check
