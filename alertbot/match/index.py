"""The scalable matcher: profiles indexed once, papers matched in vectorised batches.

How it works (in the spirit of Lucene Monitor / the Elasticsearch percolator):

1. ``build`` parses every distinct query text once, and turns each distinct query tree
   into disjunctive normal form over *atoms* (a word, phrase or prefix in a field):
   an OR of conjunctions ``pos1 AND pos2 AND NOT neg1``. Validation guarantees every
   conjunction has a positive atom, so a paper can only match through atoms it contains.
   Each tree's scoring occurrences (``evaluate.occurrences``) are kept as columns:
   atom, path weight, and the OR branches that must hold for it to score ("gates",
   compiled like queries).
2. ``table`` takes a batch of up to 1,024 papers and finds, with numpy, every
   (atom, paper) present and its score (:mod:`alertbot.match.batch`); per present atom,
   a bitset over the batch's papers (numpy ``uint64`` words).
3. Each conjunction is then ``AND(pos bitsets) & ~OR(neg bitsets)``, each query (and
   gate) the OR of its conjunctions - ``np.bitwise_and/or.reduceat`` over flat literal
   arrays, no Python loop per query. Queries whose normal form would be too large are
   evaluated on Python-int bitsets.
4. Each true (query, paper) is scored once, however many profiles share it: the sum, in
   occurrence order, of atom score x path weight where the gate holds - the reference
   evaluator's operations in its order, so scores are equal bit for bit.
5. Profiles join their interests' (query, paper) lists, exclusions veto by bitset, a
   paper's interest scores add up in profile order, ``min_score`` filters, and one
   sort ranks every profile's matches.

The result is a :class:`~alertbot.match.table.MatchTable`: columns (profile, paper,
score), ranked per profile exactly as ``match_profile`` ranks. ``Match`` objects (with
their hits and spans) are built only when asked for, per profile and only up to what is
shown (``MatchTable.top(key, cap)``), because building one per match was most of the
time. An index depends only on the profiles: keep it across ticks while they do not
change (:class:`~alertbot.match.cache.IndexCache`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any, Generic, TypeVar

import numpy as np
import numpy.typing as npt

from alertbot.match.atoms import Conj, TooBig, Vocabulary, dnf, eval_int
from alertbot.match.batch import atom_table, compile_lookup
from alertbot.match.columns import prefixed, ptr_of, rank_order, reduce_rows, sequential_sums
from alertbot.match.evaluate import Doc, Occurrence, PaperKey, fresh_doc, occurrences, paper_key
from alertbot.match.profile import parse_labelled
from alertbot.match.query import CATEGORY, Node, QueryError, atoms
from alertbot.match.score import CorpusStats
from alertbot.match.table import MatchTable, Truth
from alertbot.model import Match, Paper, Profile

K = TypeVar("K")
BATCH = 1024  # papers per batch: 16 uint64 words per bitset
CHUNK_LITERALS = 1 << 19  # bounds the gathered (literals x words) array to ~64 MB
PROFILE_CHUNK = 4096  # profiles joined at once: a (4096 x 1024) float64 block is 32 MB
I32 = npt.NDArray[np.integer[Any]]  # index arrays (int32 or platform ints)
I64 = npt.NDArray[np.int64]
F64 = npt.NDArray[np.float64]
U64 = npt.NDArray[np.uint64]


class ProfileIndex(Generic[K]):
    """Profiles compiled for batch matching; ``match`` equals ``match_profile`` per profile."""

    def __init__(self, profiles: Mapping[K, Profile]) -> None:
        self.keys: list[K] = list(profiles)
        self.profiles: list[Profile] = list(profiles.values())
        self.source: dict[K, Profile] = dict(profiles)
        self.vocab = Vocabulary()
        self.roots: list[Node] = []  # query trees, then gates; the last is a zero sentinel
        self.trees: dict[str, Node] = {}  # interest or exclusion text -> its tree
        self.query_of: dict[str, int] = {}  # interest or exclusion text -> its root's index
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
                self.trees[text] = root
                found = by_root.setdefault(root, len(by_root))
                by_text[text] = found
                self.query_of[text] = found
            return found

        for key, profile in zip(self.keys, self.profiles, strict=True):
            try:
                ids = [qid(q, f"interest {i}") for i, q in enumerate(profile.interests, 1)]
                excl = [qid(q, f"exclusion {i}") for i, q in enumerate(profile.exclusions, 1)]
            except QueryError as exc:
                raise QueryError(f"profile {key!r}: {exc.message}", exc.column) from exc
            interests.extend(ids)
            n_int.append(len(ids))
            exclusions.extend(excl)
            n_exc.append(len(excl))
        self.n_queries = len(by_root)
        self.roots = list(by_root)
        self._compile_occurrences()
        zero = len(self.roots)  # a query that never matches pads exclusion lists
        self.min_score = np.array([p.min_score for p in self.profiles], dtype=np.float64)
        self.int_ptr = ptr_of(n_int)
        self.int_ids = np.array(interests, dtype=np.int64)
        self.max_interests = max(n_int, default=0)
        self.exc_ptr = ptr_of([n + 1 for n in n_exc])
        self.exc_ids = np.array(prefixed(exclusions, n_exc, zero), dtype=np.int64)
        self.has_exclusions = bool(exclusions)
        self._compile_queries()
        self.lookup = compile_lookup(self.vocab.ids)

    def _compile_occurrences(self) -> None:
        """Each query's scoring occurrences as columns; gates become extra roots."""
        gate_ids: dict[Node, int] = {}
        n_occ: list[int] = []
        occ_atom: list[int] = []
        occ_weight: list[float] = []
        occ_gate: list[int] = []
        self.occurrences: list[list[Occurrence]] = []  # per query, for explaining matches
        self.occurrence_atoms: list[list[int]] = []  # their atom ids
        for root in self.roots[: self.n_queries]:
            found = [o for o in occurrences(root) if o.atom.field != CATEGORY]  # score 0
            self.occurrences.append(found)
            self.occurrence_atoms.append([self.vocab.atom(o.atom) for o in found])
            n_occ.append(len(found))
            for occ in found:
                occ_atom.append(self.vocab.atom(occ.atom))
                occ_weight.append(occ.weight)
                if occ.gate is None:
                    occ_gate.append(-1)
                else:
                    gid = gate_ids.get(occ.gate)
                    if gid is None:
                        gid = gate_ids[occ.gate] = len(self.roots)
                        self.roots.append(occ.gate)
                    occ_gate.append(gid)
        self.occ_ptr = ptr_of(n_occ)
        self.occ_atom = np.array(occ_atom, dtype=np.int64)
        self.occ_weight = np.array(occ_weight, dtype=np.float64)
        self.occ_gate = np.array(occ_gate, dtype=np.int64)

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
        self.pos_ptr = ptr_of(n_pos)
        self.neg_ptr = ptr_of(n_neg)
        self.conj_ptr = ptr_of(n_conj)

    def match(self, papers: Sequence[Paper], stats: CorpusStats) -> dict[K, list[Match]]:
        """Every profile's ranked matches among ``papers``; profiles with none are left out.

        Builds every Match: use :meth:`table` where only some are shown.
        """
        return self.table(papers, stats).as_dict()

    def table(
        self,
        papers: Sequence[Paper],
        stats: CorpusStats,
        docs: dict[PaperKey, Doc] | None = None,
    ) -> MatchTable[K]:
        """Every profile's ranked matches among ``papers``, as columns.

        ``docs``: tokenised papers to reuse and add to (by ``paper_key``), for a caller
        matching the same papers again (a tick's buckets share most of their papers).
        """
        # No gc.disable() here (it paused the collector for the whole process, scheduler,
        # web and Slack threads alike): the columns are numpy arrays the collector never
        # scans, and the Python objects made per tick are a few per paper. Measured at
        # 100,000 realistic profiles x 1,000 papers: 4% of the time in the collector
        # (one full pass per match, ~0.14 s of 1.5 s), against ~50% before when a Match
        # was built for every one of 2.5 million matches.
        papers = list(papers)
        batches: list[list[tuple[I64, I64, F64]]] = []
        truth = Truth()
        tokenised = _tokenised(papers, docs) if self.profiles else []
        if tokenised:
            for start in range(0, len(papers), BATCH):
                batch = tokenised[start : start + BATCH]
                batches.append(self._match_batch(batch, stats, start, truth))
        # Rank like match_profile: score desc, then published desc (undated last), then
        # id, then input order - the last three folded into one rank per paper.
        by_paper = sorted(
            range(len(papers)),
            key=lambda i: (-(papers[i].published or date.min).toordinal(), papers[i].id, i),
        )
        paper_rank = np.empty(len(papers), dtype=np.int64)
        paper_rank[by_paper] = np.arange(len(papers))
        profs: list[I64] = []
        ranked_paper: list[I64] = []
        ranked_score: list[F64] = []
        for chunk in zip(*batches, strict=True):  # one profile chunk, every batch
            prof = np.concatenate([c[0] for c in chunk])
            paper = np.concatenate([c[1] for c in chunk])
            score = np.concatenate([c[2] for c in chunk])
            # Sorting a chunk at a time stays in cache: ~3x faster than one global sort.
            order = rank_order(prof, score, paper_rank[paper], len(papers))
            profs.append(prof)
            ranked_paper.append(paper[order])
            ranked_score.append(score[order])
        ptr = np.zeros(len(self.keys) + 1, dtype=np.int64)
        if profs:
            np.cumsum(np.bincount(np.concatenate(profs), minlength=len(self.keys)), out=ptr[1:])
        empty = np.zeros(0, dtype=np.int64)
        paper = np.concatenate(ranked_paper) if ranked_paper else empty
        score = np.concatenate(ranked_score) if ranked_score else np.zeros(0)
        return MatchTable(self, papers, tokenised, stats, ptr, paper, score, truth)

    def _match_batch(
        self, docs: list[Doc], stats: CorpusStats, offset: int, truth: Truth
    ) -> list[tuple[I64, I64, F64]]:
        """(profile, paper, score) of every match in one batch, grouped by profile."""
        table = atom_table(self.lookup, docs, stats)
        bits, amap = self._atom_bits(table.key // len(docs), table.key % len(docs), len(docs))
        roots = self._root_bits(bits, amap, len(docs))
        qp_ptr, qp_paper, qp_score = self._pair_scores(roots, table, len(docs))
        truth.add(offset, qp_ptr, qp_paper)
        out = []
        for lo in range(0, len(self.keys), PROFILE_CHUNK):
            hi = min(lo + PROFILE_CHUNK, len(self.keys))
            prof, paper, score = self._join(lo, hi, roots, qp_ptr, qp_paper, qp_score, len(docs))
            out.append((prof, paper + offset, score))
        return out

    def _atom_bits(self, atoms: I64, cols: I64, n_docs: int) -> tuple[U64, I32]:
        """Bitsets (one row per present atom, plus an empty row) and atom id -> row."""
        local_ids, rows = np.unique(atoms, return_inverse=True)
        width = (n_docs + 63) // 64
        dense = np.zeros((len(local_ids) + 1, width * 64), dtype=bool)
        dense[rows, cols] = True
        bits = np.packbits(dense, axis=1, bitorder="little").view(np.uint64)
        amap = np.full(self.n_atoms + 1, len(local_ids), dtype=np.int32)
        amap[local_ids] = np.arange(len(local_ids), dtype=np.int32)
        return bits, amap

    def _root_bits(self, bits: U64, amap: I32, n_docs: int) -> U64:
        """One bitset row per root (query or gate), plus the zero sentinel's."""
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
            conj[sel] = reduce_rows(
                bits, pos_rows, self.pos_ptr, sel, np.bitwise_and
            ) & ~reduce_rows(bits, neg_rows, self.neg_ptr, sel, np.bitwise_or)
        queries = np.bitwise_or.reduceat(conj, self.conj_ptr[:-1], axis=0)
        if self.fallback:
            self._fallback_bits(queries, bits, amap, n_docs)
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

    def _pair_scores(self, roots: U64, table: Any, n_docs: int) -> tuple[I64, I64, F64]:
        """Every true (query, paper) as a CSR over queries, with its score."""
        qbits = roots[: self.n_queries]
        flags = np.unpackbits(qbits.view(np.uint8), axis=1, bitorder="little")[:, :n_docs]
        q, paper = np.nonzero(flags)
        qp_ptr = np.zeros(self.n_queries + 1, dtype=np.int64)
        np.cumsum(np.bincount(q, minlength=self.n_queries), out=qp_ptr[1:])
        q = q.astype(np.int64)
        paper = paper.astype(np.int64)
        # One entry per (pair, occurrence), in occurrence order.
        n_occ = (self.occ_ptr[q + 1] - self.occ_ptr[q]).astype(np.int64)
        pair = np.repeat(np.arange(len(q)), n_occ)
        first = np.cumsum(n_occ) - n_occ
        occ = self.occ_ptr[q][pair] + np.arange(len(pair)) - first[pair]
        j = paper[pair]
        key = self.occ_atom[occ] * n_docs + j
        pos = np.searchsorted(table.key, key)
        pos[pos == len(table.key)] = 0
        present = table.key[pos] == key if len(table.key) else np.zeros(len(key), dtype=bool)
        gate = self.occ_gate[occ]
        gated = np.flatnonzero(gate >= 0)
        if len(gated):
            g, jj = gate[gated], j[gated]
            word = roots[g, jj >> 6] >> (jj & 63).astype(np.uint64)
            present[gated] &= (word & np.uint64(1)).astype(bool)
        atom_score = table.score[pos] if len(table.key) else np.zeros(len(key))
        contrib = np.where(present, atom_score * self.occ_weight[occ], 0.0)
        score = sequential_sums(first, n_occ, contrib)
        return qp_ptr, paper, score

    def _join(
        self, lo: int, hi: int, roots: U64, qp_ptr: I64, qp_paper: I64, qp_score: F64, n_docs: int
    ) -> tuple[I64, I64, F64]:
        """Profiles ``lo:hi``: their interests' pairs, summed, vetoed, filtered.

        A dense (profile x paper) block accumulates the scores: each interest rank in
        turn adds its pairs (at most one per cell per rank), so every cell is 0.0 plus
        its interests' scores in profile order, as match_profile adds them; the cells
        that any interest reached, less the vetoed ones, come out in (profile, paper)
        order without a sort.
        """
        ilo, ihi = int(self.int_ptr[lo]), int(self.int_ptr[hi])
        qs = self.int_ids[ilo:ihi]
        n_int = np.diff(self.int_ptr[lo : hi + 1])
        prof_of = np.repeat(np.arange(hi - lo, dtype=np.int64), n_int)
        rank_of = (np.arange(ihi - ilo) - np.repeat(self.int_ptr[lo:hi] - ilo, n_int)).astype(
            np.int16
        )
        lengths = qp_ptr[qs + 1] - qp_ptr[qs]
        which = np.repeat(np.arange(len(qs)), lengths)
        first = np.cumsum(lengths) - lengths
        pair = qp_ptr[qs][which] + np.arange(len(which)) - first[which]
        cell = prof_of[which] * n_docs + qp_paper[pair]
        by_rank = np.argsort(rank_of[which], kind="stable")  # a radix sort on int16
        bounds = np.cumsum(np.bincount(rank_of[which], minlength=1))
        flat_total = np.zeros((hi - lo) * n_docs)
        flat_reached = np.zeros((hi - lo) * n_docs, dtype=bool)
        start = 0
        for end in bounds.tolist():
            rows = by_rank[start:end]
            flat_total[cell[rows]] += qp_score[pair[rows]]
            start = end
        flat_reached[cell] = True
        reached = flat_reached.reshape(hi - lo, n_docs)
        if self.has_exclusions:
            unwanted = np.bitwise_or.reduceat(
                roots[self.exc_ids[self.exc_ptr[lo] : self.exc_ptr[hi]]],
                self.exc_ptr[lo:hi] - self.exc_ptr[lo],
                axis=0,
            )
            flags = np.unpackbits(unwanted.view(np.uint8), axis=1, bitorder="little")
            reached &= ~flags[:, :n_docs].astype(bool)
        total = flat_total.reshape(hi - lo, n_docs)
        reached &= total >= self.min_score[lo:hi, None]
        prof, paper = np.nonzero(reached)
        return prof.astype(np.int64) + lo, paper.astype(np.int64), total[prof, paper]


def _tokenised(papers: Sequence[Paper], docs: dict[PaperKey, Doc] | None) -> list[Doc]:
    if docs is None:
        return [fresh_doc(p) for p in papers]
    out: list[Doc] = []
    for p in papers:
        key = paper_key(p)
        doc = docs.get(key)
        if doc is None:
            doc = docs[key] = fresh_doc(p)
        out.append(doc)
    return out
