"""Matching round after round keeps no memory of earlier rounds' corpus statistics."""

from __future__ import annotations

import gc
import weakref

from alertbot.match import CorpusStats, ProfileIndex, match_profile
from alertbot.match.evaluate import doc_for
from alertbot.model import Profile
from tests.match.papers import paper

PAPERS = [
    paper("Graph neural networks", "message passing on graphs", id="a"),
    paper("Quantized transformers", "graph attention and quantization", id="b"),
    paper("A survey of graphs", "neural survey", id="c"),
]
PROFILES = {
    1: Profile(("graph", '"neural networks" OR quantiz*'), ("survey",)),
    2: Profile(("ti:(graph OR transformer)^2",)),
}


def test_it_keeps_the_memo_bounded_over_100_rounds_with_fresh_statistics() -> None:
    """A hundred ticks, each with new statistics, leave one round's memo and release the
    old statistics (the memo was keyed by id(stats) and grew every tick)."""
    index = ProfileIndex.build(PROFILES)
    alive: list[weakref.ref[CorpusStats]] = []
    for _ in range(100):
        stats = CorpusStats.from_papers(PAPERS)
        alive.append(weakref.ref(stats))
        index.match(PAPERS, stats)
        for profile in PROFILES.values():
            match_profile(profile, PAPERS, stats)
    first = {id(doc_for(p)): len(doc_for(p).scored) for p in PAPERS}
    del stats
    gc.collect()
    assert sum(ref() is not None for ref in alive) <= 1
    # graph, "neural networks", quantiz*, survey, ti:graph, ti:transformer
    assert all(n <= 6 for n in first.values())
