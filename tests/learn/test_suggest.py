"""Suggestions: terms that separate useful from not-useful papers, in the query language;
accepted, an ordinary interest or exclusion that the real parser takes."""

from __future__ import annotations

from alertbot.learn import Suggestion, accept, fit_transform, suggest
from alertbot.match import CorpusStats, match_profile, parse_query, validate_profile
from alertbot.model import FeedbackValue, Profile
from tests.helpers.learning import corpus, liked_decoding, paper

PROFILE = Profile(interests=('"language model"',))
# A third of this small corpus is about decoding: a real corpus's "too common" share
# (MAX_CORPUS_SHARE) would call every topic here too general.
SHARE = 0.5


def suggestions(
    profile: Profile = PROFILE, feedback: dict[str, FeedbackValue] | None = None
) -> list[Suggestion]:
    papers = corpus()
    vocabulary, _ = fit_transform(papers, min_df=1, max_df=1.0)
    judged = feedback if feedback is not None else liked_decoding(papers)
    return suggest(judged, {p.id: p for p in papers}, vocabulary, profile, max_share=SHARE)


def test_it_suggests_the_phrase_the_useful_papers_share() -> None:
    """Five useful decoding papers, five not-useful surveys: add "speculative decoding",
    exclude survey."""
    found = {(s.kind, s.query) for s in suggestions()}
    assert ("interest", '"speculative decoding"') in found
    assert ("exclusion", "survey") in found


def test_an_accepted_interest_parses_and_finds_new_papers() -> None:
    """Accepted, the suggestion is an interest the real parser takes, and it matches a
    decoding paper that never mentions language models."""
    (add,) = [s for s in suggestions() if s.kind == "interest" and "decoding" in s.query]
    profile = accept(PROFILE, add)
    assert profile.interests == ('"language model"', '"speculative decoding"')
    parse_query(add.query)
    validate_profile(profile)
    newcomer = paper(99, "Speculative Decoding on phones", "Drafting tokens on device.")
    papers = [*corpus(), newcomer]
    stats = CorpusStats.from_papers(papers)
    assert newcomer.id not in {m.paper_id for m in match_profile(PROFILE, papers, stats)}
    assert newcomer.id in {m.paper_id for m in match_profile(profile, papers, stats)}


def test_an_accepted_exclusion_drops_what_the_reader_disliked() -> None:
    """Accepted, "exclude survey" is an exclusion that parses and leaves the surveys out."""
    (drop,) = [s for s in suggestions() if s.kind == "exclusion"]
    profile = accept(PROFILE, drop)
    validate_profile(profile)
    papers = corpus()
    kept = match_profile(profile, papers, CorpusStats.from_papers(papers))
    titles = [p.title for p in papers if p.id in {m.paper_id for m in kept}]
    assert titles
    assert not any("survey" in t.lower() for t in titles)


def test_accepting_twice_adds_once() -> None:
    """The same suggestion accepted again changes nothing."""
    add = suggestions()[0]
    once = accept(PROFILE, add)
    assert accept(once, add) == once


def test_it_never_suggests_what_the_profile_already_has() -> None:
    """With "speculative decoding" already an interest and survey excluded, neither comes back."""
    profile = Profile(
        interests=('"language model"', '"speculative decoding"'), exclusions=("survey",)
    )
    found = {s.query for s in suggestions(profile)}
    assert '"speculative decoding"' not in found
    assert "survey" not in found


def test_one_useful_paper_vetoes_an_exclusion() -> None:
    """A survey the reader found useful means survey is never suggested as an exclusion."""
    papers = corpus()
    feedback = liked_decoding(papers)
    feedback[papers[11].id] = "useful"  # "A survey of efficient training"
    assert "survey" not in {
        s.query for s in suggestions(feedback=feedback) if s.kind == "exclusion"
    }


def test_it_is_deterministic() -> None:
    """The same verdicts give the same suggestions in the same order."""
    assert suggestions() == suggestions()


def test_a_term_common_to_the_corpus_is_no_suggestion() -> None:
    """At the real corpus share, a term in a third of the papers is too general to suggest."""
    papers = corpus()
    vocabulary, _ = fit_transform(papers, min_df=1, max_df=1.0)
    found = suggest(liked_decoding(papers), {p.id: p for p in papers}, vocabulary, PROFILE)
    assert '"speculative decoding"' not in {s.query for s in found}


def test_the_papers_vectors_and_a_title_memo_change_nothing() -> None:
    """Given the judged papers' vectors and a shared title memo (what a tick passes so no
    paper is tokenised twice), the suggestions are the same, the second time too."""
    papers = corpus()
    vocabulary, vectors = fit_transform(papers, min_df=1, max_df=1.0)
    judged = liked_decoding(papers)
    by_id = {p.id: p for p in papers}
    plain = suggest(judged, by_id, vocabulary, PROFILE, max_share=SHARE)
    titles: dict[str, set[int]] = {}
    for _ in range(2):
        fast = suggest(judged, by_id, vocabulary, PROFILE, max_share=SHARE,
                       vectors=vectors, titles=titles)  # fmt: skip
        assert fast == plain
    assert set(titles) == set(judged)
