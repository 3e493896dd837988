"""Query changes the reader's feedback argues for: "add `speculative decoding`?",
"exclude `survey`?".

A term is suggested as an **interest** when at least ``min_support`` of the papers the
reader found useful contain it, and few of those they did not (its share of the term's
judged papers at least ``MIN_PRECISION``); as an **exclusion** when at least
``min_support`` not-useful papers contain it, ``EXCLUSION_TITLES`` of them in their
title, and no useful one does (an exclusion drops papers outright, so one useful paper
with the term vetoes it). Terms in more than
``MAX_CORPUS_SHARE`` of the recent papers are too general to suggest, and so is a term
that no judged paper has in its title: titles name topics ("survey", "speculative
decoding"), abstracts are full of words that do not ("adding", "step"). Terms the
profile already has are never suggested, nor an exclusion of a word of an interest.

A suggestion is written in the query language (a word, or a quoted phrase) from the
papers' own words and checked with the real parser: accepted (:func:`accept`), it is an
ordinary interest or exclusion and matches the same stems the feature counted.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Mapping
from dataclasses import replace

from alertbot.learn.features import ngrams, paper_terms
from alertbot.learn.rank import _overlaps
from alertbot.learn.tfidf import Vector, Vocabulary
from alertbot.match import QueryError, parse_query
from alertbot.match.normalise import tokenise
from alertbot.model import FeedbackValue, Paper, Profile, Suggestion, SuggestionKind

MIN_SUPPORT = 3
MIN_PRECISION = 0.8
MAX_SUGGESTIONS = 3
# An exclusion drops papers outright, so it needs the term in the titles of at least
# this many not-useful papers, not just in one judged title. Measured with `alertbot
# bench learn` over seeds 15-18: with 1, the accepted exclusions were generic abstract
# words ("enhancing", "heads", "point") and 12 of 59 accepted suggestions hurt on the
# later days; with 3, 2 of 14 did, and nDCG@10 with suggestions went from 0.606 to 0.619
# (learned order alone: 0.597).
EXCLUSION_TITLES = 3
# A term in more than this share of recent papers ("data", "deep") is not a topic: as an
# interest it floods the digest, as an exclusion it empties it.
MAX_CORPUS_SHARE = 0.1


def suggest(
    feedback: Mapping[str, FeedbackValue],
    papers: Mapping[str, Paper],
    vocabulary: Vocabulary,
    profile: Profile,
    *,
    min_support: int = MIN_SUPPORT,
    limit: int = MAX_SUGGESTIONS,
    max_share: float = MAX_CORPUS_SHARE,
    vectors: Mapping[str, Vector] | None = None,
    titles: dict[str, set[int]] | None = None,
) -> list[Suggestion]:
    """At most ``limit`` suggestions, strongest first; deterministic.

    ``papers`` holds the judged papers (the others are skipped). A tick suggesting for
    many readers passes the papers' ``vectors`` (their columns are the features found)
    and one ``titles`` memo, so no judged paper is tokenised twice.
    """
    useful: Counter[int] = Counter()
    not_useful: Counter[int] = Counter()
    in_title: Counter[int] = Counter()
    in_title_not: Counter[int] = Counter()  # in the titles of not-useful papers
    totals: Counter[FeedbackValue] = Counter()
    for pid, value in sorted(feedback.items()):
        paper = papers.get(pid)
        if paper is None:
            continue
        totals[value] += 1
        vector = vectors.get(pid) if vectors is not None else None
        if vector is not None:
            found = set(vector.indices.tolist())
        else:
            found = _columns(paper_terms(paper), vocabulary)
        (useful if value == "useful" else not_useful).update(found)
        title = titles.get(pid) if titles is not None else None
        if title is None:
            title = _columns(Counter(k for k, _ in ngrams(paper.title)), vocabulary)
            if titles is not None:
                titles[pid] = title
        in_title.update(title)
        if value != "useful":
            in_title_not.update(title)
    interest_stems = _stems(profile.interests)
    exclusion_stems = _stems(profile.exclusions)
    scored: list[tuple[float, str, Suggestion]] = []
    for col in sorted(set(useful) | set(not_useful)):
        u, n = useful[col], not_useful[col]
        if u < min_support and n < min_support:
            continue  # what both kinds need, checked first: most features fail it
        if vocabulary.df[col] > max_share * vocabulary.n_docs or not in_title[col]:
            continue
        key = vocabulary.keys[col]
        stems = set(key.split())
        if u >= min_support and u / (u + n) >= MIN_PRECISION and not stems <= interest_stems:
            kind: SuggestionKind = "interest"
            strength = u * _log_odds(u, totals["useful"], n, totals["not_useful"])
        elif (
            n >= min_support
            and u == 0
            and in_title_not[col] >= EXCLUSION_TITLES
            and not stems & interest_stems
        ):
            if stems <= exclusion_stems:
                continue
            kind = "exclusion"
            strength = n * _log_odds(n, totals["not_useful"], u, totals["useful"])
        else:
            continue
        query = _query(vocabulary.display[col], key)
        if query is not None:
            scored.append((strength, key, Suggestion(kind, query, vocabulary.display[col], u, n)))
    chosen: list[tuple[str, Suggestion]] = []
    # Strongest first; on a tie the longer phrase (what a reader would type), then the key.
    for _, key, suggestion in sorted(scored, key=lambda s: (-s[0], -s[1].count(" "), s[1])):
        if len(chosen) == limit:
            break
        if any(s.kind == suggestion.kind and _overlaps(key, k) for k, s in chosen):
            continue
        chosen.append((key, suggestion))
    return [s for _, s in chosen]


def _columns(counts: Counter[str], vocabulary: Vocabulary) -> set[int]:
    return {col for key in counts if (col := vocabulary.column(key)) is not None}


def accept(profile: Profile, suggestion: Suggestion) -> Profile:
    """``profile`` with the suggestion added as an interest or exclusion (once)."""
    if suggestion.kind == "interest":
        if suggestion.query in profile.interests:
            return profile
        return replace(profile, interests=(*profile.interests, suggestion.query))
    if suggestion.query in profile.exclusions:
        return profile
    return replace(profile, exclusions=(*profile.exclusions, suggestion.query))


def _log_odds(hits: int, total: int, other_hits: int, other_total: int) -> float:
    return math.log((hits + 0.5) / (total + 1.0)) - math.log(
        (other_hits + 0.5) / (other_total + 1.0)
    )


def _stems(queries: tuple[str, ...]) -> set[str]:
    return {token.stem for query in queries for token in tokenise(query)}


def _query(display: str, key: str) -> str | None:
    """The display form as a query whose one term has exactly the feature's stems."""
    text = display if " " not in display else f'"{display}"'
    if " ".join(t.stem for t in tokenise(display)) != key:
        return None
    try:
        parse_query(text)
    except QueryError:
        return None
    return text
