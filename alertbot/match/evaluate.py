"""Exact evaluation of a query against one tokenised paper, with score and highlights."""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from dataclasses import dataclass

from alertbot.match.normalise import Token, analyse, offsets
from alertbot.match.query import CATEGORY, And, Node, Not, Or, Prefix, Term
from alertbot.match.score import PHRASE_BOOST, CorpusStats, term_score
from alertbot.model import Field, Paper
from alertbot.tex import display, display_authors

FIELD_NAMES: dict[str, Field] = {"ti": "title", "abs": "abstract", "au": "authors"}
# The fields an atom looks in: the default field is title or abstract.
SEARCHED: dict[str, tuple[str, ...]] = {
    "ti": ("ti",),
    "abs": ("abs",),
    "au": ("au",),
    "ta": ("ti", "abs"),
    "cat": ("cat",),
}
Span = tuple[int, int]


class FieldText:
    """One field's words and stems; their character offsets, and a stem -> positions
    index, are made only when the reference evaluator asks (most papers never need them).
    """

    __slots__ = ("_offsets", "_positions", "_spans", "_words", "stems", "surfaces", "text")

    def __init__(self, text: str, tokens: list[Token] | None = None) -> None:
        self.text = text
        self._positions: dict[str, list[int]] | None = None
        self._words: tuple[list[str], dict[str, list[int]]] | None = None
        self._spans: dict[tuple[str, ...] | str, tuple[Span, ...]] | None = None
        self._offsets: tuple[list[int], list[int]] | None = None
        if tokens is None:
            self.surfaces, self.stems = analyse(text)
        else:
            self.surfaces = [t.surface for t in tokens]
            self.stems = [t.stem for t in tokens]
            self._offsets = ([t.start for t in tokens], [t.end for t in tokens])

    @property
    def offsets(self) -> tuple[list[int], list[int]]:
        """Each word's start and end in ``text``."""
        if self._offsets is None:
            self._offsets = offsets(self.text)
        return self._offsets

    @property
    def positions(self) -> dict[str, list[int]]:
        if self._positions is None:
            self._positions = {}
            for i, s in enumerate(self.stems):
                self._positions.setdefault(s, []).append(i)
        return self._positions

    def find(self, atom: Term | Prefix) -> list[tuple[int, int]]:
        """Token ranges ``[first, last]`` where ``atom`` occurs."""
        if isinstance(atom, Prefix):
            return [(i, i) for i in self._prefixed(atom.prefix)]
        stems = atom.stems
        starts = self.positions.get(stems[0], ())
        if len(stems) == 1:
            return [(i, i) for i in starts]
        k = len(stems)
        own = self.stems
        return [(i, i + k - 1) for i in starts if tuple(own[i : i + k]) == stems]

    def spans(self, atom: Term | Prefix) -> tuple[Span, ...]:
        """The character spans of ``atom``'s occurrences (two NFKC parts of one written
        word share a span, reported once); remembered per word, phrase or prefix, since
        a tick explains the same atoms on the same paper for many interests."""
        if self._spans is None:
            self._spans = {}
        key = atom.prefix if isinstance(atom, Prefix) else atom.stems
        found = self._spans.get(key)
        if found is None:
            ranges = self.find(atom)
            if ranges:
                starts, ends = self.offsets
                found = _merge([(starts[a], ends[b]) for a, b in ranges])
            else:
                found = ()
            self._spans[key] = found
        return found

    def _prefixed(self, prefix: str) -> list[int]:
        """Positions of the words that start with ``prefix``, in order: the words with a
        prefix are one run of the sorted distinct words (a scan of every token per prefix
        was most of the time spent explaining matches)."""
        if self._words is None:
            at: dict[str, list[int]] = {}
            for i, w in enumerate(self.surfaces):
                at.setdefault(w, []).append(i)
            self._words = (sorted(at), at)
        words, at = self._words
        found: list[int] = []
        k = bisect.bisect_left(words, prefix)
        while k < len(words) and words[k].startswith(prefix):
            found.extend(at[words[k]])
            k += 1
        found.sort()
        return found

    def has(self, atom: Term | Prefix) -> bool:
        if isinstance(atom, Term) and len(atom.stems) == 1:
            return atom.stems[0] in self.positions
        return bool(self.find(atom))


class Doc:
    """A paper tokenised once, field by field (plus a memo of atom scores)."""

    __slots__ = ("fields", "paper", "scored", "scored_with")

    def __init__(self, paper: Paper) -> None:
        self.paper = paper
        self.fields: dict[str, FieldText] = {
            # The displayed text (TeX as Unicode): what readers see is what spans index.
            "ti": FieldText(display(paper.title)),
            "abs": FieldText(display(paper.abstract)),
            "au": FieldText(display_authors(paper.authors)),
            # One token per category, compared whole: cs.LG is not the words cs and lg.
            "cat": FieldText("", [Token(c, c, 0, 0) for c in map(str.casefold, paper.categories)]),
        }
        # atom -> (score, hits) under ``scored_with``: many queries share an atom. One
        # statistics object at a time, so a new tick's statistics replace the memo instead
        # of growing it (it was keyed by id(stats) and kept every tick's statistics alive).
        self.scored: dict[Term | Prefix, tuple[float, list[HitPart]]] = {}
        self.scored_with: CorpusStats | None = None


_cache: dict[PaperKey, Doc] = {}
_CACHE_SIZE = 8192


def clear_doc_cache() -> None:
    """Forget every tokenised paper (benchmarks time tokenisation as a tick does)."""
    _cache.clear()


PaperKey = tuple[str, str, str, tuple[str, ...], tuple[str, ...]]


def paper_key(paper: Paper) -> PaperKey:
    # Paper holds a dict (extra), so it is not hashable; the key is its text.
    return (paper.id, paper.title, paper.abstract, paper.authors, paper.categories)


def fresh_doc(paper: Paper) -> Doc:
    """The cached tokenised paper if there is one, else a new one left out of the cache
    (the index keeps its own for one table: a tick's papers must not pile up here)."""
    return _cache.get(paper_key(paper)) or Doc(paper)


def doc_for(paper: Paper) -> Doc:
    """The tokenised paper, cached so many profiles share one tokenisation."""
    key = paper_key(paper)
    doc = _cache.get(key)
    if doc is None:
        if len(_cache) >= _CACHE_SIZE:
            _cache.clear()
        doc = _cache[key] = Doc(paper)
    return doc


def matches(node: Node, doc: Doc) -> bool:
    """Whether ``node`` is true for ``doc`` (no scoring)."""
    if isinstance(node, Term | Prefix):
        return any(doc.fields[f].has(node) for f in SEARCHED[node.field])
    if isinstance(node, Not):
        return not matches(node.child, doc)
    if isinstance(node, And):
        return all(matches(c, doc) for c in node.children)
    return any(matches(c, doc) for c in node.children)


@dataclass(frozen=True, slots=True)
class HitPart:
    """A matched term in one field, before it is tied to an interest."""

    field: Field
    term: str
    spans: tuple[Span, ...]


@dataclass(frozen=True, slots=True)
class Occurrence:
    """A positive word, phrase or wildcard of a query tree, as it scores.

    ``weight`` is the product of the weights from the root down to the atom (multiplied
    in that order); ``gate`` is what must also be true for it to score: the conjunction
    of the OR branches on its path (None when nothing beyond the atom itself, as for an
    atom with no OR above it or one that is itself an OR branch).
    """

    atom: Term | Prefix
    weight: float
    gate: Node | None


def occurrences(root: Node) -> list[Occurrence]:
    """The positive atoms of ``root`` in depth-first order (negated ones never score)."""
    out: list[Occurrence] = []

    def walk(node: Node, weight: float, branches: tuple[Node, ...]) -> None:
        weight = weight * node.weight
        if isinstance(node, Term | Prefix):
            gates = tuple(b for b in branches if b is not node)
            gate = None if not gates else gates[0] if len(gates) == 1 else And(gates)
            out.append(Occurrence(node, weight, gate))
        elif isinstance(node, And):
            for child in node.children:
                walk(child, weight, branches)
        elif isinstance(node, Or):
            for child in node.children:
                walk(child, weight, (*branches, child))

    walk(root, 1.0, ())
    return out


def explain(node: Node, doc: Doc, stats: CorpusStats) -> tuple[float, list[HitPart]]:
    """Score and hits of a node known to be true for ``doc``: only true branches count.

    The score is the sum, in depth-first order, of each scoring occurrence's atom score
    times its path weight: the README's "weights multiply that part's score" in a form
    the index computes with the same operations in the same order (so, bit for bit).
    """
    return explain_occurrences(_occurrences(node), doc, stats)


def explain_occurrences(
    found: Sequence[Occurrence], doc: Doc, stats: CorpusStats
) -> tuple[float, list[HitPart]]:
    """:func:`explain` from a tree's :func:`occurrences`, already listed."""
    total = 0.0
    hits: list[HitPart] = []
    for occ in found:
        if occ.gate is not None and not matches(occ.gate, doc):
            continue
        score, parts = _atom(occ.atom, doc, stats)
        if not parts and not score:  # an OR branch that is this very atom, absent here
            continue
        total += score * occ.weight
        hits.extend(parts)
    return total, hits


_occ_cache: dict[Node, list[Occurrence]] = {}


def _occurrences(node: Node) -> list[Occurrence]:
    found = _occ_cache.get(node)
    if found is None:
        if len(_occ_cache) >= _CACHE_SIZE * 8:
            _occ_cache.clear()
        found = _occ_cache[node] = occurrences(node)
    return found


def _atom(atom: Term | Prefix, doc: Doc, stats: CorpusStats) -> tuple[float, list[HitPart]]:
    if doc.scored_with is not stats:
        doc.scored = {}
        doc.scored_with = stats
    found = doc.scored.get(atom)
    if found is None:
        found = doc.scored[atom] = _score_atom(atom, doc, stats)
    return found


def _score_atom(atom: Term | Prefix, doc: Doc, stats: CorpusStats) -> tuple[float, list[HitPart]]:
    """The atom's score in ``doc`` before any weight (its own included), and its hits."""
    if atom.field == CATEGORY:  # a filter on the listing's categories, not relevance
        return 0.0, []
    total = 0.0
    hits: list[HitPart] = []
    for f in SEARCHED[atom.field]:
        text = doc.fields[f]
        found = text.find(atom)
        if not found:
            continue
        if isinstance(atom, Prefix):
            idf = min(stats.idf(text.stems[i]) for i, _ in found)
        else:
            idf = sum(stats.idf(s) for s in atom.stems)
            if len(atom.stems) > 1:
                idf *= PHRASE_BOOST
        total += term_score(stats, f, idf, len(found), len(text.stems))
        starts, ends = text.offsets
        spans = tuple((starts[a], ends[b]) for a, b in found)
        hits.append(HitPart(FIELD_NAMES[f], atom.display, _merge(spans)))
    return total, hits


def atom_spans(atom: Term | Prefix, doc: Doc) -> list[tuple[Field, tuple[Span, ...]]]:
    """Where ``atom`` occurs in ``doc``: per field searched, the spans to highlight (the
    hits of :func:`_score_atom`, without the score, which a table already has)."""
    if atom.field == CATEGORY:
        return []
    out: list[tuple[Field, tuple[Span, ...]]] = []
    for f in SEARCHED[atom.field]:
        spans = doc.fields[f].spans(atom)
        if spans:
            out.append((FIELD_NAMES[f], spans))
    return out


def _merge(spans: Sequence[Span]) -> tuple[Span, ...]:
    # Two NFKC parts of one written word share a span; report it once.
    out: list[Span] = []
    for span in spans:
        if not out or span != out[-1]:
            out.append(span)
    return tuple(out)
