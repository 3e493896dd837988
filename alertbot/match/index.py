"""The scalable matcher: profiles indexed once, papers matched in vectorised batches.

How it works (in the spirit of Lucene Monitor / the Elasticsearch percolator):

1. ``build`` parses every distinct query text once, and turns each distinct query tree
   into disjunctive normal form over *atoms* (a word, phrase or prefix in a field):
   an OR of conjunctions ``pos1 AND pos2 AND NOT neg1``. Validation guarantees every
   conjunction has a positive atom, so a paper can only match through atoms it contains.
2. ``match`` tokenises a batch of up to 1,024 papers, looks up which atoms of the
   vocabulary each paper contains (only those), and stores, per present atom, a bitset
   over the batch's papers (numpy ``uint64`` words).
3. Each conjunction is then ``AND(pos bitsets) & ~OR(neg bitsets)``, each query the OR of
   its conjunctions, each profile ``OR(interests) & ~OR(exclusions)`` - all with
   ``np.bitwise_and/or.reduceat`` over flat literal arrays, no Python loop per profile.
   Queries whose normal form would be too large are evaluated on Python-int bitsets.
4. Only the true (profile, interest, paper) triples reach Python, where the exact
   evaluator scores them and finds the spans, once per distinct (query, paper).
"""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any, Generic, TypeVar

import numpy as np
import numpy.typing as npt

from alertbot.match.atoms import Conj, TooBig, Vocabulary, dnf, eval_int
from alertbot.match.evaluate import Doc, HitPart, doc_for, explain
from alertbot.match.profile import parse_labelled
from alertbot.match.query import Node, QueryError, atoms
from alertbot.match.score import CorpusStats
from alertbot.model import Hit, Match, Paper, Profile

K = TypeVar("K")
BATCH = 1024  # papers per batch: 16 uint64 words per bitset
CHUNK_LITERALS = 1 << 19  # bounds the gathered (literals x words) array to ~64 MB
I32 = npt.NDArray[np.integer[Any]]  # index arrays (int32 or platform ints)
U64 = npt.NDArray[np.uint64]


@dataclass(frozen=True)
class _Groups:
    """One batch's matches: profile, paper (index into all papers), score, Match."""

    prof: I32
    paper: I32
    score: npt.NDArray[np.float64]
    matches: list[Match]


def _ptr(lengths: list[int]) -> I32:
    out = np.zeros(len(lengths) + 1, dtype=np.int64)
    np.cumsum(lengths, out=out[1:])
    return out.astype(np.int32)


class ProfileIndex(Generic[K]):
    """Profiles compiled for batch matching; ``match`` equals ``match_profile`` per profile."""

    def __init__(self, profiles: Mapping[K, Profile]) -> None:
        self.keys: list[K] = list(profiles)
        self.profiles: list[Profile] = list(profiles.values())
        self.vocab = Vocabulary()
        self.roots: list[Node] = []  # distinct query trees; the last one is a zero sentinel
        self.fallback: list[int] = []
        self._compile()

    @classmethod
    def build(cls, profiles: Mapping[K, Profile]) -> ProfileIndex[K]:
        """Index ``profiles``; raises QueryError naming the first bad interest or exclusion."""
        return cls(profiles)

    def _compile(self) -> None:
        by_text: dict[str, int] = {}
        by_root: dict[Node, int] = {}
        interests: list[int] = []
        exclusions: list[int] = []
        n_int: list[int] = []
        n_exc: list[int] = []

        def qid(text: str, label: str) -> int:
            found = by_text.get(text)
            if found is None:
                root = parse_labelled(text, label, 500, 40).root
                found = by_root.setdefault(root, len(by_root))
                by_text[text] = found
            return found

        text_ids: dict[str, int] = {}
        ref_text: list[int] = []
        for key, profile in zip(self.keys, self.profiles, strict=True):
            try:
                ids = [qid(q, f"interest {i}") for i, q in enumerate(profile.interests, 1)]
                excl = [qid(q, f"exclusion {i}") for i, q in enumerate(profile.exclusions, 1)]
            except QueryError as exc:
                raise QueryError(f"profile {key!r}: {exc.message}", exc.column) from exc
            interests.extend(ids)
            ref_text.extend(text_ids.setdefault(q, len(text_ids)) for q in profile.interests)
            n_int.append(len(ids))
            exclusions.extend(excl)
            n_exc.append(len(excl))
        self.roots = list(by_root)
        zero = len(self.roots)  # a query that never matches pads empty lists
        self.min_score = np.array([p.min_score for p in self.profiles], dtype=np.float64)
        # Each profile's interest list; an empty one becomes [zero] so reduceat works.
        self.int_ptr = _ptr([max(n, 1) for n in n_int])
        self.int_ids = np.array(_padded(interests, n_int, zero), dtype=np.int32)
        # The interest's own text (two spellings can share one query tree).
        self.texts = list(text_ids)
        self.names = [(t,) for t in self.texts]  # Match.interests of a one-interest match
        self.ref_text = np.array(_padded(ref_text, n_int, -1), dtype=np.int32)
        self.exc_ptr = _ptr([n + 1 for n in n_exc])
        self.exc_ids = np.array(_prefixed(exclusions, n_exc, zero), dtype=np.int32)
        self._compile_queries()

    def _compile_queries(self) -> None:
        pos: list[int] = []
        neg: list[int] = []
        n_pos: list[int] = []
        n_neg: list[int] = []
        n_conj: list[int] = []
        conjs: list[Conj]
        for q, root in enumerate(self.roots):
            try:
                conjs = dnf(root, self.vocab)
                if not conjs or any(not c[0] for c in conjs):
                    raise TooBig
            except TooBig:
                self.fallback.append(q)
                for atom in atoms(root):
                    self.vocab.atom(atom)
                conjs = []
            conjs = conjs or [(frozenset(), frozenset())]  # fallback/zero: filled later
            n_conj.append(len(conjs))
            for p, n in conjs:
                pos.extend(sorted(p) or [-1])
                n_pos.append(len(p) or 1)
                neg.extend([-1, *sorted(n)])
                n_neg.append(len(n) + 1)
        n_conj.append(1)  # the zero query
        pos.append(-1)
        n_pos.append(1)
        neg.append(-1)
        n_neg.append(1)
        self.n_atoms = len(self.vocab.ids)
        # -1 (no atom) maps to the always-empty bitset row at match time.
        self.pos = np.array([a if a >= 0 else self.n_atoms for a in pos], dtype=np.int32)
        self.neg = np.array([a if a >= 0 else self.n_atoms for a in neg], dtype=np.int32)
        self.pos_ptr = _ptr(n_pos)
        self.neg_ptr = _ptr(n_neg)
        self.conj_ptr = _ptr(n_conj)

    def match(self, papers: Sequence[Paper], stats: CorpusStats) -> dict[K, list[Match]]:
        """Every profile's ranked matches among ``papers``; profiles with none are left out."""
        with _gc_paused():
            return self._match(papers, stats)

    def _match(self, papers: Sequence[Paper], stats: CorpusStats) -> dict[K, list[Match]]:
        groups: list[_Groups] = []
        if not self.profiles or not papers:
            return {}
        for start in range(0, len(papers), BATCH):
            docs = [doc_for(p) for p in papers[start : start + BATCH]]
            groups.append(self._match_batch(docs, stats, start))
        prof = np.concatenate([g.prof for g in groups])
        paper = np.concatenate([g.paper for g in groups])
        score = np.concatenate([g.score for g in groups])
        made = [m for g in groups for m in g.matches]
        # Rank like match_profile: score desc, then published desc (undated last), then
        # id, then input order - the last three folded into one rank per paper.
        by_paper = sorted(
            range(len(papers)),
            key=lambda i: (-(papers[i].published or date.min).toordinal(), papers[i].id, i),
        )
        paper_rank = np.empty(len(papers), dtype=np.int64)
        paper_rank[by_paper] = np.arange(len(papers))
        order = _rank_order(prof, score, paper_rank[paper], len(self.profiles), len(papers))
        if not len(order):
            return {}
        sorted_prof = prof[order]
        bounds = np.flatnonzero(np.diff(sorted_prof)) + 1
        firsts = np.concatenate(([0], bounds)).tolist()
        lasts = np.concatenate((bounds, [len(order)])).tolist()
        order_l = order.tolist()
        keys = self.keys
        get = made.__getitem__
        return {
            keys[p]: list(map(get, order_l[lo:hi]))
            for p, lo, hi in zip(sorted_prof[firsts].tolist(), firsts, lasts, strict=True)
        }

    def _match_batch(self, docs: list[Doc], stats: CorpusStats, offset: int) -> _Groups:
        """The matches in one batch, as parallel arrays plus the Match objects."""
        prof, ref, paper = self._triples(docs)
        paper_l = paper.tolist()
        n_docs = len(docs)
        # Score and explain each distinct (query, paper) once, however many profiles share it.
        pair, inv = np.unique(
            self.int_ids[ref].astype(np.int64) * n_docs + paper, return_inverse=True
        )
        pair_score = np.empty(len(pair), dtype=np.float64)
        pair_parts: list[list[HitPart]] = []
        roots = self.roots
        for k, key in enumerate(pair.tolist()):
            q, j = divmod(key, n_docs)
            pair_score[k], parts = explain(roots[q], docs[j], stats)
            pair_parts.append(parts)
        new = np.ones(len(prof), dtype=bool)
        new[1:] = (prof[1:] != prof[:-1]) | (paper[1:] != paper[:-1])
        starts = np.flatnonzero(new)
        if not len(starts):
            return _Groups(starts, starts, np.zeros(0), [])
        ends = np.append(starts[1:], len(prof))
        # Sequential sums in interest order, bit for bit as match_profile adds them
        # (reduceat may add in another order and differ in the last bit).
        tscore = pair_score[inv]
        score = np.zeros(len(starts), dtype=np.float64)
        for k in range(int((ends - starts).max())):
            live = starts + k < ends
            score[live] += tscore[starts[live] + k]
        keep = score >= self.min_score[prof[starts]]
        # Hits carry the interest's text: build them once per (text, query, paper). Nearly
        # always one text spells a query, so key by pair and set the odd spellings apart.
        ref_text = self.ref_text[ref].astype(np.int64)
        canon = np.empty(len(pair), dtype=np.int64)
        canon[inv] = ref_text
        odd = ref_text != canon[inv]
        odd_keys, odd_inv = np.unique(ref_text[odd] * len(pair) + inv[odd], return_inverse=True)
        tinv = inv.copy()
        tinv[odd] = len(pair) + odd_inv
        texts = self.texts
        spelled = [*zip(canon.tolist(), range(len(pair)), strict=True)]
        spelled += [divmod(key, len(pair)) for key in odd_keys.tolist()]
        hits = [
            tuple(Hit(texts[tid], h.field, h.term, h.spans) for h in pair_parts[u])
            for tid, u in spelled
        ]
        ids = [d.paper.id for d in docs]
        # Most groups are one interest on one paper: build those with map() over columns
        # (no bytecode per match), the rest one by one.
        single = keep & (ends - starts == 1)
        multi = np.flatnonzero(keep & ~single)
        first = starts[single]
        matches = list(
            map(
                Match,
                map(ids.__getitem__, paper[first].tolist()),
                score[single].tolist(),
                map(self.names.__getitem__, ref_text[first].tolist()),
                map(hits.__getitem__, tinv[first].tolist()),
            )
        )
        text_l, tinv_l = ref_text.tolist(), tinv.tolist()
        matches.extend(
            _match(ids[paper_l[lo]], total, text_l, tinv_l, texts, hits, lo, hi)
            for lo, hi, total in zip(
                starts[multi].tolist(), ends[multi].tolist(), score[multi].tolist(), strict=True
            )
        )
        kept = np.concatenate((first, starts[multi]))
        return _Groups(
            prof[kept], paper[kept] + offset, np.concatenate((score[single], score[multi])), matches
        )

    def _atom_bits(self, docs: list[Doc]) -> tuple[U64, I32]:
        """Bitsets (one row per present atom, plus an empty row) and atom id -> row."""
        present = [self.vocab.present(d) for d in docs]
        atoms = np.fromiter((a for s in present for a in s), dtype=np.int32)
        cols = np.repeat(np.arange(len(docs)), [len(s) for s in present])
        local_ids, rows = np.unique(atoms, return_inverse=True)
        width = (len(docs) + 63) // 64
        dense = np.zeros((len(local_ids) + 1, width * 64), dtype=bool)
        dense[rows, cols] = True
        bits = np.packbits(dense, axis=1, bitorder="little").view(np.uint64)
        amap = np.full(self.n_atoms + 1, len(local_ids), dtype=np.int32)
        amap[local_ids] = np.arange(len(local_ids), dtype=np.int32)
        return bits, amap

    def _query_bits(self, docs: list[Doc]) -> U64:
        bits, amap = self._atom_bits(docs)
        pos_rows = amap[self.pos]
        neg_rows = amap[self.neg]
        n_conj = len(self.pos_ptr) - 1
        conj = np.zeros((n_conj, bits.shape[1]), dtype=np.uint64)
        empty_row = bits.shape[0] - 1
        alive = np.logical_and.reduceat(pos_rows != empty_row, self.pos_ptr[:-1])
        step = max(1, CHUNK_LITERALS // 4)
        for lo in range(0, n_conj, step):
            hi = min(lo + step, n_conj)
            sel = np.flatnonzero(alive[lo:hi]) + lo
            if not len(sel):
                continue
            conj[sel] = _reduce(bits, pos_rows, self.pos_ptr, sel, np.bitwise_and) & ~_reduce(
                bits, neg_rows, self.neg_ptr, sel, np.bitwise_or
            )
        queries = np.bitwise_or.reduceat(conj, self.conj_ptr[:-1], axis=0)
        if self.fallback:
            self._fallback_bits(queries, bits, amap, len(docs))
        return queries

    def _fallback_bits(self, queries: U64, bits: U64, amap: I32, n_docs: int) -> None:
        ints: dict[int, int] = {}
        everyone = (1 << n_docs) - 1
        for q in self.fallback:
            for atom in atoms(self.roots[q]):
                aid = self.vocab.atom(atom)
                if aid not in ints:
                    ints[aid] = int.from_bytes(bits[amap[aid]].tobytes(), "little")
            value = eval_int(self.roots[q], ints, self.vocab, everyone)
            row = np.frombuffer(value.to_bytes(queries.shape[1] * 8, "little"), dtype=np.uint64)
            queries[q] = row

    def _triples(self, docs: list[Doc]) -> tuple[I32, I32, I32]:
        """(profile, interest ref, paper) for every interest match of a matching profile,
        sorted by profile, paper, then the interest's place in the profile."""
        queries = self._query_bits(docs)
        wanted = np.bitwise_or.reduceat(queries[self.int_ids], self.int_ptr[:-1], axis=0)
        unwanted = np.bitwise_or.reduceat(queries[self.exc_ids], self.exc_ptr[:-1], axis=0)
        wanted &= ~unwanted
        hit_profiles = np.flatnonzero(wanted.any(axis=1))
        counts = self.int_ptr[hit_profiles + 1] - self.int_ptr[hit_profiles]
        prof = np.repeat(hit_profiles, counts)
        ref = np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)
        ref += np.repeat(self.int_ptr[hit_profiles], counts)
        both = queries[self.int_ids[ref]] & wanted[prof]
        rows, words = np.nonzero(both)
        flags = np.unpackbits(
            both[rows, words].view(np.uint8).reshape(-1, 8), axis=1, bitorder="little"
        )
        which, bit = np.nonzero(flags)
        paper = words[which] * 64 + bit
        prof, ref = prof[rows[which]], ref[rows[which]]
        # Already ordered by (profile, interest ref); a stable sort on (profile, paper)
        # keeps each group's interests in profile order.
        order = np.argsort(prof.astype(np.int64) * len(docs) + paper, kind="stable")
        return prof[order], ref[order], paper[order].astype(np.int32)


@contextlib.contextmanager
def _gc_paused() -> Iterator[None]:
    """Pause the cyclic GC: we allocate ~1M acyclic objects (Match, Hit), and the
    collector's repeated full passes over them doubled the run time."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


def _match(
    paper_id: str,
    score: float,
    text_of: list[int],
    hits_of: list[int],
    texts: list[str],
    hits: list[tuple[Hit, ...]],
    lo: int,
    hi: int,
) -> Match:
    names = tuple(texts[text_of[t]] for t in range(lo, hi))
    return Match(paper_id, score, names, tuple(h for t in range(lo, hi) for h in hits[hits_of[t]]))


def _rank_order(
    prof: I32, score: npt.NDArray[np.float64], rank: I32, n_prof: int, n_pap: int
) -> I32:
    """Order by profile, then score desc, then paper rank - as one int64 sort key when it
    fits (one argsort is ~5x faster than a three-key lexsort on millions of matches)."""
    _, score_rank = np.unique(-score, return_inverse=True)
    n_scores = int(score_rank.max()) + 1 if len(score_rank) else 1
    if n_prof * n_scores * n_pap >= 2**62:
        return np.lexsort((rank, -score, prof))
    key = (prof.astype(np.int64) * n_scores + score_rank) * n_pap + rank
    return np.argsort(key)  # keys are unique: one group per (profile, paper)


def _reduce(bits: U64, rows: I32, ptr: I32, sel: I32, op: np.ufunc) -> U64:
    """``op``-reduce the bitset rows of each selected conjunction's literal range."""
    starts, ends = ptr[sel], ptr[sel + 1]
    lengths = ends - starts
    idx = np.arange(lengths.sum()) - np.repeat(np.cumsum(lengths) - lengths, lengths)
    idx += np.repeat(starts, lengths)
    offsets = np.zeros(len(sel), dtype=np.int64)
    np.cumsum(lengths[:-1], out=offsets[1:])
    return op.reduceat(bits[rows[idx]], offsets, axis=0)


def _padded(ids: list[int], counts: list[int], filler: int) -> list[int]:
    out: list[int] = []
    i = 0
    for n in counts:
        out.extend(ids[i : i + n] or [filler])
        i += n
    return out


def _prefixed(ids: list[int], counts: list[int], filler: int) -> list[int]:
    out: list[int] = []
    i = 0
    for n in counts:
        out.append(filler)
        out.extend(ids[i : i + n])
        i += n
    return out
