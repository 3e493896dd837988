"""like: interests at queue time: the papers similar to the named one join the digest,
explained by the shared terms; exclusions veto them; an unknown paper matches nothing."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from alertbot.deliver import queue_due
from alertbot.model import EndpointKind, Paper, Profile
from alertbot.store import deliveries
from alertbot.store import profiles as profile_store
from tests.helpers.delivery import NOW, make_settings
from tests.helpers.learning import among_others

DECODING = "2611.00001"  # "Speculative decoding for fast inference"


def _reader(engine: Engine, subscribe: Any, name: str, profile: Profile) -> int:
    sub = subscribe(name, f"{name}-inbox", kind=EndpointKind.FILE)
    profile_store.set_profile(engine, sub.id, profile, now=NOW - timedelta(days=3))
    return int(sub.id)


def _queued(engine: Engine, tmp_path: Path) -> dict[int, Any]:
    settings = make_settings(tmp_path)
    # The helper corpus shares its boilerplate abstract (similarity 0.4-0.6 to anything);
    # only the decoding papers are as alike as 0.9.
    learn = settings.learn.model_copy(update={"like_threshold": 0.8})
    queue_due(engine, settings.model_copy(update={"learn": learn}), now=NOW)
    return {r.subscriber_id: r for r in deliveries.list_rows(engine)}


def test_a_like_interest_brings_the_similar_papers_explained(
    tmp_path: Path, engine: Engine, stock: Callable[..., list[Paper]], subscribe: Any
) -> None:
    """like: a decoding paper matches the other decoding papers (not itself, no survey),
    each explained by terms it shares with that paper."""
    papers = {p.id: p for p in stock(among_others())}
    sid = _reader(engine, subscribe, "ada", Profile((f"like:{DECODING}",)))
    row = _queued(engine, tmp_path)[sid]
    decoding = {f"2611.{n:05d}" for n in range(2, 7)}
    assert set(row.paper_ids) == decoding
    for match in row.matches():
        assert match.interests == (f"like:{DECODING}",)
        assert match.hits
        text = f"{papers[match.paper_id].title} {papers[match.paper_id].abstract}".lower()
        target = f"{papers[DECODING].title} {papers[DECODING].abstract}".lower()
        for hit in match.hits:
            assert hit.term.lower() in text
            assert hit.term.lower() in target


def test_a_title_names_the_paper_too_and_exclusions_veto(
    tmp_path: Path, engine: Engine, stock: Callable[..., list[Paper]], subscribe: Any
) -> None:
    """like:"its title" is the same paper; an exclusion drops a like match as it drops
    a keyword one."""
    stock(among_others())
    by_title = _reader(engine, subscribe, "bea", Profile(
        ('like:"Speculative decoding for fast inference"',), ("tree",)
    ))  # fmt: skip
    rows = _queued(engine, tmp_path)
    kept = set(rows[by_title].paper_ids)
    assert kept == {f"2611.{n:05d}" for n in range(3, 7)}  # not 00002, "Tree-based ..."


def test_beside_a_keyword_interest_a_paper_matched_by_both_sums_its_scores(
    tmp_path: Path, engine: Engine, stock: Callable[..., list[Paper]], subscribe: Any
) -> None:
    """A paper both interests match carries both, its score their sum, and ranks first."""
    stock(among_others())
    plain = _reader(engine, subscribe, "kw", Profile(("tree",)))
    both = _reader(engine, subscribe, "both", Profile(("tree", f"like:{DECODING}")))
    rows = _queued(engine, tmp_path)
    (alone,) = [m for m in rows[plain].matches() if m.paper_id == "2611.00002"]
    first = rows[both].matches()[0]
    assert first.paper_id == "2611.00002"
    assert first.interests == ("tree", f"like:{DECODING}")
    assert first.score > alone.score


def test_an_unknown_paper_matches_nothing_and_the_digest_is_still_planned(
    tmp_path: Path, engine: Engine, stock: Callable[..., list[Paper]], subscribe: Any
) -> None:
    """like: a paper we never stored: no like matches; the keyword interest still works."""
    stock(among_others())
    sid = _reader(engine, subscribe, "cy", Profile(("like:2401.99999", "tree")))
    row = _queued(engine, tmp_path)[sid]
    assert row.paper_ids == ("2611.00002",)
