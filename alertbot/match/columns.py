"""Column helpers of the profile index: CSR pointers, segmented reductions, ranking.

Each keeps an exact, documented order of floating-point operations where that matters
(the index must equal the reference evaluator bit for bit).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

I32 = npt.NDArray[np.integer[Any]]
I64 = npt.NDArray[np.int64]
F64 = npt.NDArray[np.float64]
U64 = npt.NDArray[np.uint64]


def ptr_of(lengths: list[int]) -> I64:
    """CSR pointers for rows of these lengths."""
    out = np.zeros(len(lengths) + 1, dtype=np.int64)
    np.cumsum(lengths, out=out[1:])
    return out


def rank_order(prof: I64, score: F64, rank: I64, n_pap: int) -> I64:
    """Order by profile, then score desc, then paper rank - as one int64 sort key when it
    fits (one argsort is several times faster than a three-key lexsort)."""
    if not len(prof):
        return np.zeros(0, dtype=np.int64)
    base = prof - prof.min()
    _, score_rank = np.unique(-score, return_inverse=True)
    n_scores = int(score_rank.max()) + 1
    if (int(base.max()) + 1) * n_scores * n_pap >= 2**62:
        return np.lexsort((rank, -score, prof))
    key = (base * n_scores + score_rank.reshape(-1)) * n_pap + rank
    return np.argsort(key)  # keys are unique: one row per (profile, paper)


def sequential_sums(starts: I64, sizes: I64, values: F64) -> F64:
    """Per segment, 0.0 + values[0] + values[1] + ... strictly in that order (numpy's
    reductions may pair the additions and differ in the last bit)."""
    total = np.zeros(len(starts))
    if not len(starts):
        return total
    by_size = np.argsort(-sizes, kind="stable")
    sorted_sizes = sizes[by_size]
    for k in range(int(sorted_sizes[0])):
        n = int(np.searchsorted(-sorted_sizes, -k, side="left"))  # segments longer than k
        rows = by_size[:n]
        total[rows] += values[starts[rows] + k]
    return total


def reduce_rows(bits: U64, rows: I32, ptr: I32, sel: I32, op: np.ufunc) -> U64:
    """``op``-reduce the bitset rows of each selected conjunction's literal range."""
    starts, ends = ptr[sel], ptr[sel + 1]
    lengths = ends - starts
    idx = np.arange(lengths.sum()) - np.repeat(np.cumsum(lengths) - lengths, lengths)
    idx += np.repeat(starts, lengths)
    offsets = np.zeros(len(sel), dtype=np.int64)
    np.cumsum(lengths[:-1], out=offsets[1:])
    return op.reduceat(bits[rows[idx]], offsets, axis=0)


def prefixed(ids: list[int], counts: list[int], filler: int) -> list[int]:
    out: list[int] = []
    i = 0
    for n in counts:
        out.append(filler)
        out.extend(ids[i : i + n])
        i += n
    return out
