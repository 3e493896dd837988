"""The learned order: keyword matching decides what is in, the model decides the order
and the cap; off (or too little feedback) is today's order exactly; every move explained."""

from __future__ import annotations

from dataclasses import replace

from alertbot.digest import build_digest
from alertbot.learn import LearnParams, fit_transform, ranker, reader_for, rerank
from alertbot.learn.tfidf import Vector
from alertbot.match import CorpusStats, match_profile
from alertbot.match.normalise import tokenise
from alertbot.model import Match, Paper, Profile
from tests.helpers.builders import DAY, email_endpoint, subscriber
from tests.helpers.learning import corpus, liked_decoding

PARAMS = LearnParams(min_useful=3, min_not_useful=3)
PROFILE = Profile(interests=('"language model"',), max_papers=5)


def setup() -> tuple[list[Paper], dict[str, Vector], list[Match]]:
    papers = corpus()
    _vocabulary, vectors = fit_transform(papers, min_df=1, max_df=1.0)
    matches = match_profile(PROFILE, papers, CorpusStats.from_papers(papers))
    return papers, vectors, matches


def learned(papers: list[Paper], vectors: dict[str, Vector], feedback: dict[str, str]) -> object:
    vocabulary, _ = fit_transform(papers, min_df=1, max_df=1.0)
    return reader_for(feedback, vectors, vocabulary, PARAMS)  # type: ignore[arg-type]


def test_it_keeps_todays_order_exactly_without_a_model() -> None:
    """rerank with no reader returns the keyword matches, same objects, same order."""
    _, vectors, matches = setup()
    ranked = rerank(matches, vectors, None)
    assert [m for m, _ in ranked] == matches
    assert all(a is b for (a, _), b in zip(ranked, matches, strict=True))
    assert all(reason is None for _, reason in ranked)


def test_learning_off_gives_the_digest_of_today() -> None:
    """A reader who turned learning off gets no model however much feedback they gave,
    and their digest equals the one built without any ranker."""
    papers, vectors, _ = setup()
    vocabulary, _ = fit_transform(papers, min_df=1, max_df=1.0)
    feedback = liked_decoding(papers)
    assert reader_for(feedback, vectors, vocabulary, PARAMS, allowed=False) is None
    sub = subscriber(PROFILE)
    stats = CorpusStats.from_papers(papers)
    today = build_digest(sub, email_endpoint(), DAY, papers, stats)
    assert build_digest(sub, email_endpoint(), DAY, papers, stats, ranker=None) == today
    assert today.learned is False


def test_too_little_feedback_keeps_the_keyword_order() -> None:
    """Below min_useful / min_not_useful there is no model."""
    papers, vectors, _ = setup()
    vocabulary, _ = fit_transform(papers, min_df=1, max_df=1.0)
    assert reader_for(liked_decoding(papers, n=2), vectors, vocabulary, PARAMS) is None


def test_keyword_matching_still_decides_what_is_in() -> None:
    """The learned order holds exactly the keyword matches, and the digest's 'more'
    count is unchanged."""
    papers, vectors, matches = setup()
    vocabulary, _ = fit_transform(papers, min_df=1, max_df=1.0)
    reader = reader_for(liked_decoding(papers, n=3), vectors, vocabulary, PARAMS)
    assert reader is not None
    ranked = rerank(matches, vectors, reader)
    assert sorted(m.paper_id for m, _ in ranked) == sorted(m.paper_id for m in matches)
    sub = subscriber(PROFILE)
    stats = CorpusStats.from_papers(papers)
    plain = build_digest(sub, email_endpoint(), DAY, papers, stats)
    with_model = build_digest(
        sub, email_endpoint(), DAY, papers, stats, ranker=ranker(reader, vectors)
    )
    assert with_model.more == plain.more
    assert with_model.learned is True


def test_the_model_decides_which_papers_make_the_cap() -> None:
    """Once the reader liked decoding papers and disliked surveys, the unjudged decoding
    papers fill the capped digest and no survey is in it."""
    papers, vectors, _ = setup()
    vocabulary, _ = fit_transform(papers, min_df=1, max_df=1.0)
    reader = reader_for(liked_decoding(papers, n=3), vectors, vocabulary, PARAMS)
    assert reader is not None
    sub = subscriber(replace(PROFILE, max_papers=3))
    digest = build_digest(
        sub,
        email_endpoint(),
        DAY,
        papers,
        CorpusStats.from_papers(papers),
        ranker=ranker(reader, vectors, weight=0.9),
    )
    shown = [item.paper.title for item in digest.items]
    assert all("speculative decoding" in t.lower() for t in shown), shown


def test_reranking_is_deterministic_for_fixed_feedback() -> None:
    """Two independent fits of the same verdicts give the same order and reasons."""
    runs = []
    for _ in range(2):
        papers, vectors, matches = setup()
        vocabulary, _ = fit_transform(papers, min_df=1, max_df=1.0)
        reader = reader_for(liked_decoding(papers, n=3), vectors, vocabulary, PARAMS)
        runs.append(rerank(matches, vectors, reader))
    assert runs[0] == runs[1]


def _contains(paper: Paper, term: str) -> bool:
    wanted = [t.stem for t in tokenise(term)]
    for text in (paper.title, paper.abstract):
        stems = [t.stem for t in tokenise(text)]
        if any(stems[i : i + len(wanted)] == wanted for i in range(len(stems))):
            return True
    return False


def test_explanations_name_features_present_in_the_paper() -> None:
    """Every moved paper has a reason; each term it names occurs in that paper's title
    or abstract, as consecutive words."""
    papers, vectors, matches = setup()
    vocabulary, _ = fit_transform(papers, min_df=1, max_df=1.0)
    reader = reader_for(liked_decoding(papers, n=3), vectors, vocabulary, PARAMS)
    by_id = {p.id: p for p in papers}
    ranked = rerank(matches, vectors, reader)
    moved = [(m, r) for i, (m, r) in enumerate(ranked) if m.paper_id != matches[i].paper_id]
    assert moved
    for match, reason in moved:
        assert reason is not None
        assert reason.terms
        assert all(_contains(by_id[match.paper_id], term) for term in reason.terms), reason


def test_a_paper_ranked_up_is_explained_by_the_useful_papers_like_it() -> None:
    """An unjudged decoding paper moves up, 'like N papers you found useful' where N
    counts the useful papers having its first term."""
    papers, vectors, matches = setup()
    vocabulary, _ = fit_transform(papers, min_df=1, max_df=1.0)
    feedback = liked_decoding(papers, n=3)
    reader = reader_for(feedback, vectors, vocabulary, PARAMS)
    assert reader is not None
    ranked = dict((m.paper_id, r) for m, r in rerank(matches, vectors, reader))
    unjudged = papers[4]  # "Speculative decoding at scale"
    reason = ranked[unjudged.id]
    assert reason is not None
    assert reason.direction == "up"
    useful = [by for pid, v in feedback.items() if v == "useful" for by in papers if by.id == pid]
    assert reason.like == sum(1 for p in useful if _contains(p, reason.terms[0]))
    assert reason.like >= 1
