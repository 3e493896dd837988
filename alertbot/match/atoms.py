"""Atoms and normal forms: what the profile index compiles queries into.

An *atom* is a word, phrase or prefix wildcard in a field. A query becomes an OR of
conjunctions of atoms and negated atoms (disjunctive normal form); the atoms a batch of
papers contains are found by :mod:`alertbot.match.batch` from the vocabulary's ids.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from alertbot.match.query import Node, Not, Or, Prefix, Term

MAX_CONJUNCTIONS = 64  # beyond this a query is evaluated on Python ints instead
AtomKey = tuple[str, str, object]  # ("t", field, stems) or ("x", field, prefix)
Conj = tuple[frozenset[int], frozenset[int]]  # (positive atom ids, negated atom ids)


class TooBig(Exception):
    """The query's normal form would exceed MAX_CONJUNCTIONS."""


@dataclass
class Vocabulary:
    """Atoms by id: ``("t", field, stems)`` for words and phrases, ``("x", field, prefix)``."""

    ids: dict[AtomKey, int] = field(default_factory=dict)

    def atom(self, node: Term | Prefix) -> int:
        key: AtomKey = (
            ("t", node.field, node.stems)
            if isinstance(node, Term)
            else ("x", node.field, node.prefix)
        )
        aid = self.ids.get(key)
        if aid is None:
            aid = self.ids[key] = len(self.ids)
        return aid


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
