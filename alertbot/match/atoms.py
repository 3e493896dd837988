"""Atoms and normal forms: what the profile index compiles queries into.

An *atom* is a word, phrase or prefix wildcard in a field. A query becomes an OR of
conjunctions of atoms and negated atoms (disjunctive normal form); a paper becomes the
set of atoms it contains, found through per-field lookups built from the vocabulary.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from alertbot.match.evaluate import SEARCHED, Doc
from alertbot.match.query import Node, Not, Or, Prefix, Term

MAX_CONJUNCTIONS = 64  # beyond this a query is evaluated on Python ints instead
FIELDS = ("ti", "abs", "au", "cat")  # the paper fields atoms are looked up in
AtomKey = tuple[str, str, object]  # ("t", field, stems) or ("x", field, prefix)
Conj = tuple[frozenset[int], frozenset[int]]  # (positive atom ids, negated atom ids)


class TooBig(Exception):
    """The query's normal form would exceed MAX_CONJUNCTIONS."""


def _by_field() -> dict[str, dict[str, list[int]]]:
    return {f: defaultdict(list) for f in FIELDS}


@dataclass
class Vocabulary:
    """Atoms by id, and per paper field the lookups that field's words go through."""

    ids: dict[AtomKey, int] = field(default_factory=dict)
    words: dict[str, dict[str, list[int]]] = field(default_factory=_by_field)
    prefixes: dict[str, dict[str, list[int]]] = field(default_factory=_by_field)
    phrases: dict[str, dict[str, list[tuple[tuple[str, ...], int]]]] = field(
        default_factory=lambda: {f: defaultdict(list) for f in FIELDS}
    )
    prefix_lengths: set[int] = field(default_factory=set)

    def atom(self, node: Term | Prefix) -> int:
        key: AtomKey = (
            ("t", node.field, node.stems)
            if isinstance(node, Term)
            else ("x", node.field, node.prefix)
        )
        aid = self.ids.get(key)
        if aid is None:
            aid = self.ids[key] = len(self.ids)
            for src in SEARCHED[node.field]:
                if isinstance(node, Prefix):
                    self.prefixes[src][node.prefix].append(aid)
                    self.prefix_lengths.add(len(node.prefix))
                elif len(node.stems) == 1:
                    self.words[src][node.stems[0]].append(aid)
                else:
                    self.phrases[src][node.stems[0]].append((node.stems, aid))
        return aid

    def present(self, doc: Doc) -> set[int]:
        """Ids of the atoms ``doc`` contains."""
        found: set[int] = set()
        lengths = sorted(self.prefix_lengths)
        for fname, text in doc.fields.items():
            positions = text.positions
            words = self.words[fname]
            for s in positions.keys() & words.keys():
                found.update(words[s])
            phrases = self.phrases[fname]
            stems = text.stems
            for s in positions.keys() & phrases.keys():
                for phrase, aid in phrases[s]:
                    k = len(phrase)
                    if any(tuple(stems[i : i + k]) == phrase for i in positions[s]):
                        found.add(aid)
            prefixes = self.prefixes[fname]
            if lengths and prefixes:
                for surface in {t.surface for t in text.tokens}:
                    for n in lengths:
                        if n > len(surface):
                            break
                        found.update(prefixes.get(surface[:n], ()))
        return found


def dnf(node: Node, vocab: Vocabulary, negate: bool = False) -> list[Conj]:
    """``node`` (negated if ``negate``) as distinct, non-contradictory conjunctions."""
    if isinstance(node, Term | Prefix):
        aid = frozenset((vocab.atom(node),))
        return [(frozenset(), aid)] if negate else [(aid, frozenset())]
    if isinstance(node, Not):
        return dnf(node.child, vocab, not negate)
    parts = [dnf(c, vocab, negate) for c in node.children]
    if isinstance(node, Or) != negate:  # a union of alternatives
        out = [c for p in parts for c in p]
    else:  # a product: every combination of one alternative per child
        out = [(frozenset(), frozenset())]
        for p in parts:
            out = [(a[0] | b[0], a[1] | b[1]) for a in out for b in p]
            if len(out) > MAX_CONJUNCTIONS:
                raise TooBig
    unique = list(dict.fromkeys(c for c in out if not c[0] & c[1]))
    if len(unique) > MAX_CONJUNCTIONS:
        raise TooBig
    return unique


def eval_int(node: Node, bits: dict[int, int], vocab: Vocabulary, everyone: int) -> int:
    """Evaluate ``node`` on Python-int bitsets of atoms (for queries too big for DNF)."""
    if isinstance(node, Term | Prefix):
        return bits.get(vocab.atom(node), 0)
    if isinstance(node, Not):
        return everyone & ~eval_int(node.child, bits, vocab, everyone)
    values = [eval_int(c, bits, vocab, everyone) for c in node.children]
    acc = values[0]
    for v in values[1:]:
        acc = acc | v if isinstance(node, Or) else acc & v
    return acc
