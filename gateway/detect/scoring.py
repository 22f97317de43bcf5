"""The embedded model's scoring loop, compiled: hashed n-grams to scores in one pass.

`features.hashed` and `features.tfidf` define the features and their weights, and the
trainer builds its matrices with them. Serving computes the same numbers in one loop per
text that numba compiles to machine code: the features' buckets, their rows, the count
of each row, sublinear TF-IDF, the L2 norm, the linear layer and the logistic. The numpy
steps cost about 60 ns a feature, most of it numpy's fixed cost per call on texts of a
few hundred features; the loop costs about 12 ns, and none of it holds the GIL.

The loop is compiled once per machine and cached on disk (`_compiled`); a model scores
one text when it is read (`model.TextModel`), so the loop is compiled or loaded then and
no request waits for it.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable, Sequence
from typing import Final, TypeVar, cast

import numba
import numpy as np
import numpy.typing as npt

from gateway.detect import features
from gateway.detect.features import Floats

_BASE: Final = features.BASE
_MIX: Final = features.MIX
_SHIFT: Final = np.uint64(64 - features.BITS)
_PAIR: Final = features.PAIR
_WORD_SALT: Final = features.WORD_SALT
_PAIR_SALT: Final = features.PAIR_SALT
_SPACE: Final = np.uint32(32)
_LONGEST: Final = max(features.CHAR_SIZES)
# Whether n-grams of each size up to the longest are features.
_SIZES: Final = np.array([size in features.CHAR_SIZES for size in range(_LONGEST + 1)])
# A text of n characters has at most n n-grams of each size, n/2 words and n/2 word pairs.
_FEATURES_PER_CHAR: Final = len(features.CHAR_SIZES) + 1

Rows = npt.NDArray[np.int32]
_F = TypeVar("_F", bound=Callable[..., object])


def _compiled(function: _F) -> _F:
    """`function` compiled to machine code, run without the GIL, and cached on disk where
    numba finds a folder it can write (`NUMBA_CACHE_DIR`, beside this file, the user's
    cache folder); where it finds none, compiled anew by each process (about a second)."""
    try:
        compiled = numba.njit(cache=True, nogil=True)(function)
    except RuntimeError:  # "cannot cache function ...: no locator available"
        compiled = numba.njit(nogil=True)(function)
    return cast("_F", compiled)


@_compiled
def _count(  # noqa: PLR0917 - compiled code takes no keyword-only arguments
    bucket: np.uint64, rows: Rows, slot: Rows, seen: Rows, counts: Rows, n: int
) -> int:
    """Count one feature occurrence; `n` distinct rows were seen before it."""
    row = rows[bucket]
    if row < 0:
        return n
    at = slot[row]
    if at < 0:
        slot[row] = n
        seen[n] = row
        counts[n] = 1
        return n + 1
    counts[at] += 1
    return n


@_compiled
def _scores(  # noqa: PLR0917 - compiled code takes no keyword-only arguments
    codes: npt.NDArray[np.uint32],
    bounds: npt.NDArray[np.int64],
    words: bool,
    rows: Rows,
    idf: Floats,
    weights: Floats,
    bias: Floats,
    slot: Rows,
    out: Floats,
) -> None:
    """Each text's scores into `out` (the logistic of each label's linear output): text t
    is `codes[bounds[t]:bounds[t + 1]]`, a reduced text's code points
    (`features.reduce_text`). `rows` maps a bucket to its weights' row
    (-1: unknown); `slot` is a scratch table of one cell per row, all -1, left so.

    Compiled code checks no index, so every index is in range by construction: a bucket is
    `BITS` bits and `rows` has a cell for each; a row is below the model's row count
    (`model.TextModel` checks its arrays), the length of `idf`, `weights` and `slot`; a
    text of n characters has fewer than `_FEATURES_PER_CHAR * n` features.
    """
    labels = weights.shape[1]
    longest = 0
    for t in range(len(bounds) - 1):
        longest = max(longest, bounds[t + 1] - bounds[t])
    seen = np.empty(_FEATURES_PER_CHAR * longest, np.int32)
    counts = np.empty(_FEATURES_PER_CHAR * longest, np.int32)
    total = np.empty(labels, np.float64)
    for t in range(len(bounds) - 1):
        start, end = bounds[t], bounds[t + 1]
        n = 0
        # Character n-grams, each size read off one polynomial hash (as `features.hashed`).
        for i in range(start, end - 1):
            value = np.uint64(codes[i])
            for size in range(2, _LONGEST + 1):
                if i + size > end:
                    break
                value = value * _BASE + np.uint64(codes[i + size - 1])
                if _SIZES[size]:
                    bucket = (value * _MIX) >> _SHIFT
                    n = _count(bucket, rows, slot, seen, counts, n)
        # Words and word pairs: the same hash over each run of non-spaces, salted.
        if words:
            before = np.uint64(0)
            first = True
            i = start
            while i < end:
                if codes[i] == _SPACE:
                    i += 1
                    continue
                value = np.uint64(0)
                while i < end and codes[i] != _SPACE:
                    value = value * _BASE + np.uint64(codes[i])
                    i += 1
                n = _count(((value ^ _WORD_SALT) * _MIX) >> _SHIFT, rows, slot, seen, counts, n)
                if not first:
                    pair = (before * _PAIR + value) ^ _PAIR_SALT
                    n = _count((pair * _MIX) >> _SHIFT, rows, slot, seen, counts, n)
                before = value
                first = False
        # Sublinear TF-IDF, L2-normalised, through the linear layer.
        total[:] = 0.0
        norm = 0.0
        for k in range(n):
            row = seen[k]
            slot[row] = -1
            weight = (1.0 + math.log(counts[k])) * idf[row]
            norm += weight * weight
            for label in range(labels):
                total[label] += weight * weights[row, label]
        scale = 1.0 / math.sqrt(norm) if norm > 0.0 else 0.0
        for label in range(labels):
            out[t, label] = 1.0 / (1.0 + math.exp(-(bias[label] + total[label] * scale)))


_LOCAL = threading.local()


def scores(
    reduced: Sequence[str], *, words: bool, rows: Rows, idf: Floats, weights: Floats, bias: Floats
) -> Floats:
    """Every label's score of each reduced text (`features.reduce_text`), one row per text."""
    out = np.empty((len(reduced), weights.shape[1]), np.float32)
    if not reduced:
        return out
    codes = np.frombuffer("".join(reduced).encode("utf-32-le"), dtype=np.uint32)
    bounds = np.zeros(len(reduced) + 1, np.int64)
    np.cumsum([len(text) for text in reduced], out=bounds[1:])
    _scores(codes, bounds, words, rows, idf, weights, bias, _slot(len(idf)), out)
    return out


def _slot(size: int) -> Rows:
    """This thread's scratch table (the loop's, or a judging thread's): the loop leaves it
    as it found it, every cell -1."""
    slot: Rows | None = getattr(_LOCAL, "slot", None)
    if slot is None or len(slot) < size:
        slot = _LOCAL.slot = np.full(size, -1, np.int32)
    return slot
