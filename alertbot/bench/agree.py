"""How an engine's match sets compare with alertbot's, and which documented rule explains
each difference.

An :class:`Explainer` names the normalisation rule that makes an engine and alertbot
disagree on one (profile, paper): TeX read as Unicode, accents folded (tantivy), FTS5's
prefixes over Porter stems, acronym plurals, the stemmers. It answers exactly as asking
the rules in that order of the whole paper text would, but keeps what it learns about a
paper (its words by stem, by the engine's stem, its accented words, what TeX changed)
and a profile (its atoms): at 10,000 papers FTS5 differs on ~100,000 pairs, and doing
that work again for each took most of the bench's time (61 s of 2,000 papers' run).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import Stemmer

from alertbot.bench.engines import EngineRun
from alertbot.match.normalise import _WORD, _singular_acronym, analyse, fold, stem, tokenise
from alertbot.match.query import CATEGORY, Prefix, Term, atoms, parse_query
from alertbot.model import Paper, Profile
from alertbot.tex import display, display_authors

_snowball = Stemmer.Stemmer("english")
_porter = Stemmer.Stemmer("porter")
ENGINE_STEM: dict[str, Callable[[str], str]] = {
    "tantivy": lambda w: str(_snowball.stemWord(w.lower())),
    "fts5": lambda w: str(_porter.stemWord(w.lower())),
}
EXPLAINED = 400_000  # distinct differences classified per engine (tens of us each)


@dataclass
class _PaperFacts:
    """What the rules ask of one paper, worked out once (its words only when asked)."""

    shown: str  # the text the matcher reads: TeX as Unicode
    tex_changed: frozenset[str]  # stems TeX-as-Unicode adds or removes
    accented: list[tuple[str, str]]  # (written, folded) of non-ASCII words, in order
    first: dict[str, int] = field(default_factory=dict)  # surface -> first position
    by_stem: dict[str, list[str]] = field(default_factory=dict)  # alertbot's stem -> words
    by_theirs: dict[str, list[str]] = field(default_factory=dict)  # the engine's -> words
    split: dict[str, str | None] = field(default_factory=dict)  # query word -> first split


@dataclass(frozen=True)
class _ProfileFacts:
    atoms: list[Term | Prefix]  # of every interest and exclusion, categories left out
    words: list[list[str]]  # per atom, its words (empty for a prefix)
    stems: frozenset[str]
    prefixes: tuple[str, ...]


class Explainer:
    """The documented rule behind each difference between ``engine`` and alertbot on
    ``papers``; facts about each paper and profile are kept across calls."""

    def __init__(self, engine: str, papers: Sequence[Paper]) -> None:
        self.engine = engine
        self.papers = papers
        self._stem = ENGINE_STEM[engine]
        self._theirs: dict[str, str] = {}
        self._papers: dict[int, _PaperFacts] = {}
        self._profiles: dict[tuple[tuple[str, ...], tuple[str, ...]], _ProfileFacts] = {}

    def theirs(self, word: str) -> str:
        found = self._theirs.get(word)
        if found is None:
            found = self._theirs[word] = self._stem(word)
        return found

    def explain(self, profile: Profile, j: int) -> str | None:
        """The rule that makes the engine and alertbot disagree on ``profile`` and paper
        ``j``, or None when no rule accounts for it."""
        paper = self._paper(j)
        prof = self._profile(profile)
        if prof.stems & paper.tex_changed:  # the engines index the source text
            return "TeX read as Unicode (the engines index the source text)"
        if self.engine == "tantivy":  # tantivy's en_stem does not fold accents
            for written, folded in paper.accented:
                if stem(folded) in prof.stems or folded.startswith(prof.prefixes):
                    return f"accents folded ({written!r})"
        for atom, words in zip(prof.atoms, prof.words, strict=True):
            if isinstance(atom, Prefix):
                if self.engine == "fts5":
                    return "FTS5 compares prefixes with Porter stems, alertbot with words"
                continue
            for w in words:
                t = self._first_split(paper, w)
                if t is not None:
                    if _singular_acronym(t) != t or _singular_acronym(w) != w:
                        return f"acronym plural ({t!r} / {w!r})"
                    return f"stemmer ({t!r} / {w!r}: {self.engine} stems them otherwise)"
        return None

    def _first_split(self, paper: _PaperFacts, w: str) -> str | None:
        """The paper's first word that one stemmer equates with ``w`` and the other not."""
        if not paper.first:  # most differences are settled before words are compared
            surfaces, stems = analyse(paper.shown)
            stem_of = dict(zip(surfaces, stems, strict=True))
            paper.first = {w: i for i, w in reversed(list(enumerate(surfaces)))}
            for surface in stem_of:
                paper.by_stem.setdefault(stem_of[surface], []).append(surface)
                paper.by_theirs.setdefault(self.theirs(surface), []).append(surface)
        if w not in paper.split:
            ours = paper.by_stem.get(stem(w), [])
            theirs = paper.by_theirs.get(self.theirs(w), [])
            split = set(ours) ^ set(theirs)
            paper.split[w] = min(split, key=paper.first.__getitem__) if split else None
        return paper.split[w]

    def _paper(self, j: int) -> _PaperFacts:
        found = self._papers.get(j)
        if found is None:
            found = self._papers[j] = self._facts(self.papers[j])
        return found

    def _facts(self, paper: Paper) -> _PaperFacts:
        raw = f"{paper.title} {paper.abstract} {' '.join(paper.authors)}"
        shown = f"{display(paper.title)} {display(paper.abstract)} {display_authors(paper.authors)}"
        changed: frozenset[str] = frozenset()
        if shown != raw:  # Schr\"odinger is two words in the source
            changed = frozenset(set(analyse(raw)[1]) ^ set(analyse(shown)[1]))
        lowered = shown.lower()
        accented = [] if lowered.isascii() else [
            (w, fold(w)) for w in _WORD.findall(lowered) if not w.isascii()
        ]  # fmt: skip
        return _PaperFacts(shown, changed, accented)

    def _profile(self, profile: Profile) -> _ProfileFacts:
        key = (profile.interests, profile.exclusions)
        found = self._profiles.get(key)
        if found is None:
            terms = [
                atom
                for q in (*profile.interests, *profile.exclusions)
                for atom in atoms(parse_query(q).root)
                if atom.field != CATEGORY
            ]
            words = [
                [t.surface for t in tokenise(a.display)] if isinstance(a, Term) else []
                for a in terms
            ]
            query_stems = frozenset(
                t.stem for a in terms if isinstance(a, Term) for t in tokenise(a.display)
            )
            prefixes = tuple(a.prefix for a in terms if isinstance(a, Prefix))
            found = self._profiles[key] = _ProfileFacts(terms, words, query_stems, prefixes)
        return found


@dataclass(frozen=True)
class Agreement:
    """How one engine's match sets compare with alertbot's, and why they differ."""

    engine: str
    pairs: int  # (profile, paper) matches the engine found
    only_alertbot: int
    only_engine: int
    reasons: dict[str, int]  # documented rule -> differing pairs it accounts for
    examples: list[str]  # differences no rule accounts for (a few)
    profiles: int  # compared: those without a minimum score (the engines' scores differ)


def agree(
    run: EngineRun,
    ours: Callable[[int], set[int]],
    profiles: Mapping[int, Profile],
    papers: Sequence[Paper],
    explained: int = EXPLAINED,
) -> Agreement:
    """Compare ``run``'s match sets with alertbot's (``ours(key)``: the papers a profile
    matched, asked one profile at a time so a million profiles' sets are never all
    held) on the profiles without a minimum score, each differing pair counted under
    the rule that explains it."""
    reasons: Counter[str] = Counter()
    examples: list[str] = []
    only_ours = only_theirs = 0
    compared = 0
    explainer = Explainer(run.name, papers)
    # Shared queries make the same difference for many profiles: explain each once, and
    # at most ``explained`` distinct ones (a million profiles differ in millions of pairs).
    known: dict[tuple[tuple[str, ...], tuple[str, ...], int], str | None] = {}
    for key, profile in profiles.items():
        if profile.min_score > 0:  # a threshold on our scores: not comparable
            continue
        compared += 1
        mine, theirs = ours(key), run.found.get(key, set())
        for j in mine ^ theirs:
            if j in mine:
                only_ours += 1
            else:
                only_theirs += 1
            memo = (profile.interests, profile.exclusions, j)
            if memo not in known and len(known) >= explained:
                reasons["not classified (past the sample)"] += 1
                continue
            if memo not in known:
                known[memo] = explainer.explain(profile, j)
            why = known[memo]
            reasons[why.split(" (")[0] if why else "unexplained"] += 1
            if why is None and len(examples) < 3:
                side = "alertbot only" if j in mine else f"{run.name} only"
                examples.append(
                    f"{side}: {profile.interests} -{profile.exclusions} on {papers[j].id}"
                )
    return Agreement(
        run.name, sum(len(v) for k, v in run.found.items() if profiles[k].min_score <= 0),
        only_ours, only_theirs, dict(reasons), examples, compared,
    )  # fmt: skip
