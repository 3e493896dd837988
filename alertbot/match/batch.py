"""One batch of papers against a compiled vocabulary: the atoms each paper contains, and
each (atom, paper) score, as columns.

The score of an atom in a paper is the reference evaluator's ``_score_atom`` (before any
weight) computed with numpy in the same operations and order, so bit for bit the same:
per field ``FIELD_BOOST * idf * tf * (K1 + 1) / (tf + K1 * norm)``, then the fields'
sum in ``SEARCHED`` order starting from 0.0. Category atoms are present but score 0.

How atoms are found, per paper field:

- words: each token's stem is mapped to a vocabulary stem id (0 when no query uses it)
  and ``(paper, stem)`` counts give ``tf``; a stem id leads to its atoms through a CSR;
- 2- and 3-word phrases: mixed-radix keys of consecutive stem ids (a 0 between papers,
  so no phrase spans two) looked up in the sorted keys of the vocabulary's phrases;
  longer phrases (rare) are checked in Python from their first word;
- prefixes: bisection over the batch's sorted distinct words (the "term dictionary"),
  then the tokens of the words each prefix reaches (``tf``, and the lowest stem idf).
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from alertbot.match.evaluate import SEARCHED, Doc
from alertbot.match.query import CATEGORY
from alertbot.match.score import DEFAULT_AVG_LEN, FIELD_BOOST, K1, PHRASE_BOOST, B, CorpusStats

I64 = npt.NDArray[np.int64]
F64 = npt.NDArray[np.float64]
AtomKey = tuple[str, str, Any]  # ("t", query field, stems) or ("x", query field, prefix)
SOURCE_FIELDS = ("ti", "abs", "au", "cat")


@dataclass
class _Grams:
    keys: I64  # sorted distinct phrase keys of one length
    ptr: I64  # CSR: keys[i] -> aids[ptr[i]:ptr[i + 1]]
    aids: I64


@dataclass
class Lookup:
    """The vocabulary compiled for batch lookups (built once per index)."""

    n_atoms: int
    stem_ids: dict[str, int]  # stems of every word and phrase atom, from 1
    base: int  # len(stem_ids) + 1: the radix of phrase keys
    atom_stems: list[tuple[str, ...] | None]  # per atom id: its stems, None for a prefix
    words: dict[str, tuple[I64, I64]] = field(default_factory=dict)  # field -> CSR
    grams: dict[str, dict[int, _Grams]] = field(default_factory=dict)  # field -> length ->
    long_phrases: dict[str, list[tuple[tuple[int, ...], int]]] = field(default_factory=dict)
    prefixes: dict[str, dict[str, list[int]]] = field(default_factory=dict)


def compile_lookup(ids: dict[AtomKey, int]) -> Lookup:
    """Per source field: stem -> word atoms, phrase key -> phrase atoms, prefix -> atoms."""
    stem_ids: dict[str, int] = {}
    atom_stems: list[tuple[str, ...] | None] = [None] * len(ids)
    for (kind, _, value), aid in ids.items():
        if kind == "t":
            atom_stems[aid] = value
            for s in value:
                stem_ids.setdefault(s, len(stem_ids) + 1)
    base = len(stem_ids) + 1
    lk = Lookup(len(ids), stem_ids, base, atom_stems)
    words: dict[str, list[tuple[int, int]]] = {f: [] for f in SOURCE_FIELDS}
    grams: dict[str, dict[int, list[tuple[int, int]]]] = {f: {2: [], 3: []} for f in SOURCE_FIELDS}
    for f in SOURCE_FIELDS:
        lk.long_phrases[f] = []
        lk.prefixes[f] = {}
    for (kind, qfield, value), aid in ids.items():
        for src in SEARCHED[qfield]:
            if kind == "x":
                lk.prefixes[src].setdefault(value, []).append(aid)
                continue
            sids = tuple(stem_ids[s] for s in value)
            if len(sids) == 1:
                words[src].append((sids[0], aid))
            elif len(sids) <= 3:
                key = 0
                for sid in sids:
                    key = key * base + sid
                grams[src][len(sids)].append((key, aid))
            else:
                lk.long_phrases[src].append((sids, aid))
    for f in SOURCE_FIELDS:
        pairs = np.array(sorted(words[f]) or np.zeros((0, 2)), dtype=np.int64).reshape(-1, 2)
        ptr = np.zeros(base + 1, dtype=np.int64)
        np.add.at(ptr, pairs[:, 0] + 1, 1)
        lk.words[f] = (np.cumsum(ptr), pairs[:, 1].copy())
        lk.grams[f] = {}
        for k, rows in grams[f].items():
            arr = np.array(sorted(rows) or np.zeros((0, 2)), dtype=np.int64).reshape(-1, 2)
            keys, starts = np.unique(arr[:, 0], return_index=True)
            gptr = np.append(starts, len(arr)).astype(np.int64)
            lk.grams[f][k] = _Grams(keys, gptr, arr[:, 1].copy())
    return lk


@dataclass
class AtomTable:
    """One row per (atom, paper) present, sorted by atom then paper."""

    key: I64  # atom * n_docs + paper
    score: F64  # unweighted; 0 for categories
    n_docs: int = 0


def _expand(ptr: I64, idx: I64) -> tuple[I64, I64]:
    """For CSR ``ptr`` and row indices ``idx``: (position in idx, flat index) per element."""
    lengths = ptr[idx + 1] - ptr[idx]
    which = np.repeat(np.arange(len(idx)), lengths)
    offsets = np.arange(int(lengths.sum())) - np.repeat(np.cumsum(lengths) - lengths, lengths)
    return which, ptr[idx][which] + offsets


def atom_table(lk: Lookup, docs: Sequence[Doc], stats: CorpusStats) -> AtomTable:
    """Every (atom, paper) present in ``docs``, with its unweighted score."""
    n = len(docs)
    idf_cache: dict[str, float] = {}

    def idf(s: str) -> float:
        found = idf_cache.get(s)
        if found is None:
            found = idf_cache[s] = stats.idf(s)
        return found

    atom_idf: dict[int, float] = {}

    def term_idf(aid: int) -> float:
        found = atom_idf.get(aid)
        if found is None:
            stems = lk.atom_stems[aid]
            assert stems is not None
            value = sum(idf(s) for s in stems)
            if len(stems) > 1:
                value *= PHRASE_BOOST
            found = atom_idf[aid] = value
        return found

    keys: list[I64] = []
    order: list[I64] = []
    scores: list[F64] = []
    for rank, f in enumerate(SOURCE_FIELDS):
        texts = [d.fields[f] for d in docs]
        lengths = np.fromiter((len(t.stems) for t in texts), dtype=np.int64, count=n)
        rows: list[tuple[I64, I64, F64, F64]] = []  # aid, doc, tf, idf
        rows.extend(_terms(lk, f, texts, lengths, term_idf))
        if lk.prefixes[f]:
            rows.extend(_prefixes(lk.prefixes[f], texts, idf))
        if not rows:
            continue
        aid = np.concatenate([r[0] for r in rows])
        doc = np.concatenate([r[1] for r in rows])
        if f == CATEGORY:  # a filter, not relevance
            score = np.zeros(len(aid))
        else:
            tf = np.concatenate([r[2] for r in rows])
            atom_idf_col = np.concatenate([r[3] for r in rows])
            avg = stats.avg_len.get(f, DEFAULT_AVG_LEN[f])
            norm = (1.0 - B + B * lengths / avg)[doc]
            score = FIELD_BOOST[f] * atom_idf_col * tf * (K1 + 1.0) / (tf + K1 * norm)
        keys.append(aid * n + doc)
        order.append(np.full(len(aid), rank, dtype=np.int64))
        scores.append(score)
    key = np.concatenate(keys) if keys else np.zeros(0, dtype=np.int64)
    if not len(key):
        return AtomTable(key, np.zeros(0), n)
    rank_col = np.concatenate(order)
    score = np.concatenate(scores)
    sort = np.lexsort((rank_col, key))
    key, score = key[sort], score[sort]
    first = np.ones(len(key), dtype=bool)
    first[1:] = key[1:] != key[:-1]
    starts = np.flatnonzero(first)
    ends = np.append(starts[1:], len(key))
    # 0.0 + the first field's score + the second's, as _score_atom adds them.
    total = np.zeros(len(starts))
    for k in range(int((ends - starts).max())):
        live = starts + k < ends
        total[live] += score[starts[live] + k]
    return AtomTable(key[starts], total, n)


def _terms(lk: Lookup, f: str, texts: list[Any], lengths: I64, term_idf: Any) -> list[Any]:
    """Rows for the word and phrase atoms of field ``f``."""
    ptr, aids = lk.words[f]
    grams = lk.grams[f]
    if not len(aids) and not any(len(g.keys) for g in grams.values()) and not lk.long_phrases[f]:
        return []
    get = lk.stem_ids.get
    flat: list[int] = []
    for t in texts:
        flat.extend([get(s, 0) for s in t.stems])
        flat.append(0)  # no phrase spans two papers
    seq = np.array(flat, dtype=np.int64)
    doc_of = np.repeat(np.arange(len(texts), dtype=np.int64), lengths + 1)
    out: list[Any] = []
    known = np.flatnonzero(seq)
    if len(aids) and len(known):
        pair, tf = np.unique(doc_of[known] * lk.base + seq[known], return_counts=True)
        doc, sid = np.divmod(pair, lk.base)
        which, flat_idx = _expand(ptr, sid)
        aid = aids[flat_idx]
        idf = _per_atom(aid, term_idf)
        out.append((aid, doc[which], tf[which].astype(np.float64), idf))
    for k, g in grams.items():
        if not len(g.keys) or len(seq) < k:
            continue
        key = seq[: len(seq) - k + 1].copy()
        for j in range(1, k):
            key = key * lk.base + seq[j : len(seq) - k + 1 + j]
        pos = np.searchsorted(g.keys, key)
        pos[pos == len(g.keys)] = 0
        at = np.flatnonzero(g.keys[pos] == key)
        if not len(at):
            continue
        which, flat_idx = _expand(g.ptr, pos[at])
        pair, tf = np.unique(g.aids[flat_idx] * len(texts) + doc_of[at][which], return_counts=True)
        aid, doc = np.divmod(pair, len(texts))
        idf = _per_atom(aid, term_idf)
        out.append((aid, doc, tf.astype(np.float64), idf))
    if lk.long_phrases[f]:
        out.extend(_long_phrases(lk, f, texts, term_idf))
    return out


def _per_atom(aid: I64, term_idf: Any) -> F64:
    """``term_idf`` of each atom id, asked once per distinct id (a batch of 1,024 papers
    has ~100,000 rows over a few thousand atoms)."""
    distinct, where = np.unique(aid, return_inverse=True)
    values = np.fromiter((term_idf(a) for a in distinct.tolist()), np.float64, len(distinct))
    return values[where.reshape(-1)]


def _long_phrases(lk: Lookup, f: str, texts: list[Any], term_idf: Any) -> list[Any]:
    ids = {v: k for k, v in lk.stem_ids.items()}
    found: dict[tuple[int, int], int] = {}
    for sids, aid in lk.long_phrases[f]:
        stems = tuple(ids[s] for s in sids)
        k = len(stems)
        for j, t in enumerate(texts):
            tf = sum(tuple(t.stems[i : i + k]) == stems for i in t.positions.get(stems[0], ()))
            if tf:
                found[(aid, j)] = tf
    if not found:
        return []
    aids = np.array([a for a, _ in found], dtype=np.int64)
    docs = np.array([d for _, d in found], dtype=np.int64)
    tfs = np.array(list(found.values()), dtype=np.float64)
    idfs = np.array([term_idf(a) for a in aids.tolist()], dtype=np.float64)
    return [(aids, docs, tfs, idfs)]


def _prefixes(prefixes: dict[str, list[int]], texts: list[Any], idf: Any) -> list[Any]:
    """Rows for prefix atoms: bisection over the batch's sorted distinct words."""
    words = sorted({w for t in texts for w in t.surfaces})
    reached: dict[str, list[int]] = {}
    for prefix, aids in prefixes.items():
        i = bisect.bisect_left(words, prefix)
        while i < len(words) and words[i].startswith(prefix):
            reached.setdefault(words[i], []).extend(aids)
            i += 1
    if not reached:
        return []
    acc: dict[tuple[int, int], list[float]] = {}
    get = reached.get
    for j, t in enumerate(texts):
        # Few words reach a prefix: find them in one pass, then look only at those.
        found = [(i, hit) for i, w in enumerate(t.surfaces) if (hit := get(w)) is not None]
        for i, hit in found:
            value = idf(t.stems[i])
            for aid in hit:
                cell = acc.get((aid, j))
                if cell is None:
                    acc[(aid, j)] = [1.0, value]
                else:
                    cell[0] += 1.0
                    cell[1] = min(cell[1], value)
    atom_col = np.array([a for a, _ in acc], dtype=np.int64)
    doc_col = np.array([d for _, d in acc], dtype=np.int64)
    cells = np.array(list(acc.values()), dtype=np.float64).reshape(-1, 2)
    return [(atom_col, doc_col, cells[:, 0].copy(), cells[:, 1].copy())]
