"""The realistic reverse-search workload (issue 11): real text, overlapping users.

Papers are real: the bundled sample listings first, as they are; beyond them, papers
recombined from real sentences (a title cut from one real abstract sentence, an
abstract of 4-9 real sentences from several papers), so every word, phrase and term
frequency is one real authors wrote.

Profiles have 1-4 interests mixing words, 2-3-word phrases, two-word conjunctions, OR
groups, an exclusion inside an interest, ``ti:``, prefixes and ``^2``. Each interest is
calibrated on the papers themselves (bitsets of the documents each stem, phrase or
prefix occurs in) to match 0.3-2% of them, so a profile matches about 2.5% of the
papers, as real alerts do. 40% of interests come from a small popular pool drawn with
a skew (many people follow "large language models"), the rest from a long tail, so
tens of thousands of distinct queries; 40% of profiles have exclusions.
"""

from __future__ import annotations

import itertools
import random
import re
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from alertbot.bench.match import GIVEN, STOPWORDS, SURNAMES
from alertbot.match.normalise import stem, tokenise
from alertbot.model import Paper, Profile
from alertbot.tex import display

CATEGORIES = (
    ("cs.LG", 30), ("cs.CL", 18), ("cs.CV", 18), ("cs.AI", 14), ("stat.ML", 8),
    ("cs.RO", 4), ("cs.IR", 3), ("math.OC", 2), ("eess.AS", 2), ("q-bio.NC", 1),
)  # fmt: skip
_SENTENCE = re.compile(r"(?<=[.!?])\s+(?=[A-Z])")
POPULAR_SHARE = 0.4  # of interests, drawn from the popular pool
POPULAR_POOL = 1500
EXCLUDING_SHARE = 0.4  # of profiles
LOW, HIGH = 0.003, 0.02  # the share of papers one interest may match
# Words nobody puts in an alert, beyond the usual stopwords.
_FILLER = (
    "some well namely very many much further furthermore however thus often able make "
    "makes made including include includes provide provides given like even still per "
    "across among become becomes being does done especially particularly broadly less "
    "first second third large small high low main several various different"
)
FILLER = STOPWORDS | frozenset(_FILLER.split())


def real_papers(seed_papers: Sequence[Paper], n: int, *, seed: int = 3) -> list[Paper]:
    """``n`` papers: the real ones first, then recombinations of their sentences."""
    rng = random.Random(seed)  # reproducible test data, not secrets
    real = list({p.id: p for p in seed_papers if p.abstract}.values())
    if not real:
        raise ValueError("no real papers with abstracts to build the workload from")
    sentences = [s for p in real for s in _SENTENCE.split(p.abstract) if len(s) > 40]
    day = date(2026, 1, 1)
    names = [c for c, _ in CATEGORIES]
    weights = [w for _, w in CATEGORIES]
    out: list[Paper] = []
    for i in range(n):
        if i < len(real):
            title, abstract = real[i].title, real[i].abstract
        else:
            words = rng.choice(sentences).rstrip(".").split()
            start = rng.randrange(max(1, len(words) - 6))
            title = " ".join(words[start : start + rng.randint(6, 12)])
            abstract = " ".join(rng.sample(sentences, rng.randint(4, 9)))
        out.append(
            Paper(
                id=f"real-{i:06d}",
                title=title,
                abstract=abstract,
                source_format="bench",
                authors=tuple(
                    f"{rng.choice(GIVEN)} {rng.choice(SURNAMES).capitalize()}"
                    for _ in range(rng.randint(1, 6))
                ),
                published=day - timedelta(days=i % 3),
                categories=tuple(dict.fromkeys(rng.choices(names, weights, k=2))),
            )
        )
    return out


@dataclass
class _Corpus:
    """Document bitsets (Python ints, bit i = paper i) for calibrating queries."""

    n: int
    docs: list[list[str]]  # each paper's title + abstract surfaces, for sampling
    ta: dict[str, int]  # stem -> papers with it in title or abstract
    ti: dict[str, int]  # stem -> papers with it in the title
    grams: dict[tuple[str, ...], int]  # 2- and 3-stem phrases (title or abstract)
    surfaces: list[tuple[str, int]]  # sorted (surface, papers), for prefixes

    def share(self, bits: int) -> float:
        return bits.bit_count() / self.n

    def fits(self, bits: int, low: float = LOW, high: float = HIGH) -> bool:
        # In papers, at least one: a tiny workload cannot match 0.3% of its papers.
        count = bits.bit_count()
        return max(low * self.n, 1) <= count <= max(high * self.n, 1)


def _index(papers: Sequence[Paper]) -> _Corpus:
    ta: dict[str, int] = defaultdict(int)
    ti: dict[str, int] = defaultdict(int)
    grams: dict[tuple[str, ...], int] = defaultdict(int)
    surf: dict[str, int] = defaultdict(int)
    docs: list[list[str]] = []
    for i, paper in enumerate(papers):
        bit = 1 << i
        # What the matcher reads: TeX shown as Unicode.
        title, abstract = tokenise(display(paper.title)), tokenise(display(paper.abstract))
        for t in title:
            ti[t.stem] |= bit
        for field in (title, abstract):
            stems = [t.stem for t in field]
            for s in stems:
                ta[s] |= bit
            for t in field:
                surf[t.surface] |= bit
            for k in (2, 3):
                for j in range(len(stems) - k + 1):
                    grams[tuple(stems[j : j + k])] |= bit
        docs.append([t.surface for t in title + abstract])
    return _Corpus(len(papers), docs, dict(ta), dict(ti), dict(grams), sorted(surf.items()))


def _topical(word: str) -> bool:
    return len(word) > 3 and word.isalpha() and word not in FILLER


class _Generator:
    """Draws one calibrated interest at a time; None when a draw misses its band."""

    def __init__(self, corpus: _Corpus, rng: random.Random) -> None:
        self.c = corpus
        self.rng = rng
        self.last_share: dict[str, float] = {}
        self.kinds: list[tuple[float, Callable[[], tuple[str, int] | None]]] = [
            (0.22, self.word),
            (0.22, self.phrase),
            (0.14, self.pair),
            (0.12, self.either),
            (0.10, self.without),
            (0.10, self.title),
            (0.10, self.prefix),
        ]

    def draw(self) -> str:
        for _ in range(100_000):
            roll = self.rng.random()
            pick = self.kinds[-1][1]
            for share, kind in self.kinds:
                roll -= share
                if roll < 0:
                    pick = kind
                    break
            made = pick()
            if made is not None and self.c.fits(made[1]):
                text = made[0]
                self.last_share[text] = self.c.share(made[1])
                plain = text[-1] not in ")*" and " -" not in text
                return f"{text}^2" if plain and self.rng.random() < 0.1 else text
        raise ValueError("no interest fits the match-rate band: too few papers")

    def _spot(self) -> tuple[list[str], int]:
        doc = self.rng.choice(self.c.docs)
        return doc, self.rng.randrange(max(1, len(doc) - 3))

    def word(self, low: float = LOW, high: float = HIGH) -> tuple[str, int] | None:
        doc, i = self._spot()
        w = doc[i]
        bits = self.c.ta.get(stem(w), 0)
        return (w, bits) if _topical(w) and self.c.fits(bits, low, high) else None

    def phrase(self) -> tuple[str, int] | None:
        doc, i = self._spot()
        k = self.rng.choice((2, 2, 3))
        ws = doc[i : i + k]
        if len(ws) < k or not _topical(ws[0]) or not _topical(ws[-1]):
            return None
        if k == 3 and not (_topical(ws[1]) or ws[1] in ("of", "for", "and", "to")):
            return None
        bits = self.c.grams.get(tuple(stem(w) for w in ws), 0)
        return f'"{" ".join(ws)}"', bits

    def pair(self) -> tuple[str, int] | None:
        doc = self.rng.choice(self.c.docs)
        a, b = self.rng.sample(doc, 2) if len(doc) > 1 else (doc[0], doc[0])
        if not (_topical(a) and _topical(b)) or stem(a) == stem(b):
            return None
        return f"{a} {b}", self.c.ta.get(stem(a), 0) & self.c.ta.get(stem(b), 0)

    def either(self) -> tuple[str, int] | None:
        parts = [self.word(0.001, 0.02) or self.phrase() for _ in range(self.rng.choice((2, 3)))]
        if any(p is None for p in parts):
            return None
        texts = [p[0] for p in parts if p is not None]
        bits = 0
        for p in parts:
            bits |= p[1] if p is not None else 0
        joined = " OR ".join(texts)
        return (f"({joined})" if self.rng.random() < 0.5 else joined), bits

    def without(self) -> tuple[str, int] | None:
        base = self.word(0.008, 0.08) or self.phrase()
        veto = self.word(0.03, 0.3)
        if base is None or veto is None or veto[0] in base[0]:
            return None
        return f"{base[0]} -{veto[0]}", base[1] & ~veto[1]

    def title(self) -> tuple[str, int] | None:
        doc, i = self._spot()
        if self.rng.random() < 0.6:
            w = doc[i]
            return (f"ti:{w}", self.c.ti.get(stem(w), 0)) if _topical(w) else None
        made = self.phrase()
        if made is None:
            return None
        stems = tuple(stem(w) for w in made[0].strip('"').split())
        # A title phrase: papers with every word in the title (close enough to calibrate).
        bits = self.c.grams.get(stems, 0)
        for s in stems:
            bits &= self.c.ti.get(s, 0)
        return f"ti:{made[0]}", bits

    def prefix(self) -> tuple[str, int] | None:
        doc, i = self._spot()
        w = doc[i]
        if not _topical(w) or len(w) < 7:
            return None
        pre = w[: len(w) - self.rng.choice((2, 3))]
        bits = 0
        surfaces = self.c.surfaces
        lo = _bisect(surfaces, pre)
        for s, b in itertools.takewhile(lambda x: x[0].startswith(pre), surfaces[lo:]):
            del s
            bits |= b
        return f"{pre}*", bits


def _bisect(rows: list[tuple[str, int]], key: str) -> int:
    lo, hi = 0, len(rows)
    while lo < hi:
        mid = (lo + hi) // 2
        if rows[mid][0] < key:
            lo = mid + 1
        else:
            hi = mid
    return lo


def realistic_profiles(papers: Sequence[Paper], n: int, *, seed: int = 4) -> dict[int, Profile]:
    """``n`` profiles calibrated on ``papers`` (see the module docstring)."""
    rng = random.Random(seed)  # reproducible test data, not secrets
    corpus = _index(papers)
    gen = _Generator(corpus, rng)
    popular = [gen.draw() for _ in range(POPULAR_POOL)]
    # The most followed topics are the broad ones: the pool's head matches the most.
    popular.sort(key=lambda q: -gen.last_share.get(q, 0.0))
    tail = [gen.draw() for _ in range(max(n, 1000))]
    exclusions = [
        made[0] for made in (gen.word(0.02, 0.15) for _ in range(20 * 200)) if made is not None
    ][:200] or ["survey"]
    cum = list(itertools.accumulate(1.0 / (1 + i) ** 0.8 for i in range(len(popular))))
    out: dict[int, Profile] = {}
    for i in range(n):
        k = rng.choice((1, 2, 2, 3, 3, 4))
        interests = [
            rng.choices(popular, cum_weights=cum)[0]
            if rng.random() < POPULAR_SHARE
            else rng.choice(tail)
            for _ in range(k)
        ]
        excl: tuple[str, ...] = ()
        if rng.random() < EXCLUDING_SHARE:
            excl = tuple(rng.sample(exclusions, rng.choice((1, 1, 2))))
        out[i] = Profile(tuple(dict.fromkeys(interests)), excl)
    return out
