"""``like:`` similarity: papers close to one paper pass the threshold, explained by the
terms the two share."""

from __future__ import annotations

from alertbot.learn import fit_transform, like_matches, shared_terms, similarity
from alertbot.learn.like import THRESHOLD
from alertbot.match.normalise import tokenise
from tests.helpers.learning import corpus


def test_a_paper_on_the_same_topic_is_like_it_and_others_are_not() -> None:
    """Like the first decoding paper: every other decoding paper, no survey, not itself."""
    papers = corpus()
    vocabulary, vectors = fit_transform(papers, min_df=1, max_df=1.0)
    target = papers[0]
    found = like_matches(vectors[target.id], vectors, vocabulary, exclude=target.id)
    ids = [m.paper_id for m in found]
    assert set(ids) >= {p.id for p in papers[1:6]}
    assert target.id not in ids
    assert not {p.id for p in papers[6:12]} & set(ids)
    assert all(m.similarity >= THRESHOLD for m in found)
    assert all("speculative decoding" in m.shared for m in found if m.paper_id in ids[:5])
    assert [m.similarity for m in found] == sorted((m.similarity for m in found), reverse=True)


def test_a_like_match_is_explained_by_terms_both_papers_have() -> None:
    """Each shared term occurs (as its stems) in both papers."""
    papers = corpus()
    vocabulary, vectors = fit_transform(papers, min_df=1, max_df=1.0)
    a, b = papers[0], papers[3]
    terms = shared_terms(vectors[a.id], vectors[b.id], vocabulary)
    assert "speculative decoding" in terms

    def has(text: str, term: str) -> bool:
        stems, wanted = [t.stem for t in tokenise(text)], [t.stem for t in tokenise(term)]
        return any(stems[i : i + len(wanted)] == wanted for i in range(len(stems)))

    for term in terms:
        for p in (a, b):
            assert has(p.title, term) or has(p.abstract, term), (term, p.title)


def test_similarity_is_one_for_the_same_text_and_symmetric() -> None:
    """Vectors are unit length: a paper is fully similar to itself; order does not matter."""
    papers = corpus()
    _, vectors = fit_transform(papers, min_df=1, max_df=1.0)
    a, b = vectors[papers[0].id], vectors[papers[7].id]
    assert abs(similarity(a, a) - 1.0) < 1e-12
    assert similarity(a, b) == similarity(b, a)
