"""A small corpus with topics a reader can like or dislike, for the learning tests.

Every paper mentions language models (so one keyword interest matches them all); six
are about speculative decoding, six are surveys, six are about something else each.
"""

from __future__ import annotations

from datetime import date

from alertbot.model import FeedbackValue, Paper

DECODING = (
    "Speculative decoding for fast inference",
    "Tree-based speculative decoding with draft models",
    "Speculative decoding without a draft model",
    "Faster speculative decoding through early exits",
    "Speculative decoding at scale",
    "Lossless speculative decoding for long outputs",
)
SURVEYS = (
    "A survey of instruction tuning",
    "A survey of evaluation benchmarks",
    "A survey of retrieval augmentation",
    "A survey of alignment methods",
    "A survey of multilingual pretraining",
    "A survey of efficient training",
)
OTHERS = (
    "Tokenizer-free modelling of bytes",
    "Watermarking generated text",
    "Curriculum learning for pretraining",
    "Sparse mixture of experts routing",
    "Calibrated uncertainty for question answering",
    "Detecting memorised training data",
)


def paper(n: int, title: str, abstract: str) -> Paper:
    return Paper(
        id=f"2611.{n:05d}",
        title=title,
        abstract=abstract,
        source_format="test",
        authors=("Ada Lovelace",),
        published=date(2026, 11, 20 - n % 10),
        arxiv_id=f"2611.{n:05d}",
    )


def _abstract(title: str, topic: str) -> str:
    return (
        f"{title}. Large language models are strong but costly. We study {topic} and report "
        "results on standard benchmarks with open weights."
    )


def corpus() -> list[Paper]:
    """Eighteen papers: ids 2611.00001-06 decoding, 07-12 surveys, 13-18 others."""
    papers = [paper(i + 1, t, _abstract(t, "token drafting and verification")) for i, t in
              enumerate(DECODING)]  # fmt: skip
    papers += [paper(i + 7, t, _abstract(t, "the literature as a whole")) for i, t in
               enumerate(SURVEYS)]  # fmt: skip
    papers += [paper(i + 13, t, _abstract(t, t.lower())) for i, t in enumerate(OTHERS)]
    return papers


def liked_decoding(papers: list[Paper], n: int = 5) -> dict[str, FeedbackValue]:
    """Useful: the first ``n`` decoding papers; not useful: the first ``n`` surveys."""
    feedback: dict[str, FeedbackValue] = {p.id: "useful" for p in papers[:n]}
    feedback.update({p.id: "not_useful" for p in papers[6 : 6 + n]})
    return feedback


def among_others(n: int = 60) -> list[Paper]:
    """:func:`corpus` among ``n`` papers on other topics, so that each of its topics is in
    under a tenth of the papers: rare enough for a real corpus's suggestions."""
    from tests.helpers.delivery import make_papers

    return corpus() + make_papers(n, prefix="2612")
