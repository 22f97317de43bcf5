"""The embedded model's features: hashed character and word n-grams, weighted TF-IDF.

These functions define the features: `training/train.py` builds its matrices with them,
and the gateway's compiled loop (`scoring.py`) computes the same numbers for the texts it
scores, as tests check, so what was trained is what is served.

A text (already folded, `folding.fold`) is reduced to words of letters and digits joined
by single spaces (apostrophes dropped: `don't` and `dont` read alike), then read as:
- character n-grams of 2 to 5 characters across the whole reduced text (spaces included,
  so short word pairs and word edges count), which carry misspellings and inflections;
- words and word pairs.
Each n-gram is hashed (a polynomial hash over its code points, in unsigned 64-bit
arithmetic, then mixed and cut to `BITS` bits) with numpy, many texts at once, and no
Python work is done per character.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any, Final

import numpy as np
import numpy.typing as npt

BITS: Final = 20
CHAR_SIZES: Final = (2, 3, 4, 5)

Ints = npt.NDArray[np.int64]
Floats = npt.NDArray[np.float32]
_U64 = npt.NDArray[np.uint64]

# The hash's constants, which the compiled loop (`scoring.py`) shares.
BASE: Final = np.uint64(0x100000001B3)  # odd: invertible modulo 2**64
_BASE_INVERSE: Final = np.uint64(pow(0x100000001B3, -1, 2**64))
PAIR: Final = np.uint64(0x9E3779B97F4A7C15)
MIX: Final = np.uint64(0xFF51AFD7ED558CCD)
_SHIFT: Final = np.uint64(64 - BITS)
# Salts for words and word pairs, so the word `ab` and the 2-gram `ab` differ.
WORD_SALT: Final = np.uint64(0x452821E638D01377)
PAIR_SALT: Final = np.uint64(0xBE5466CF34E90C6C)
_APOSTROPHES: Final = re.compile("['\u2019`\u00b4]")
_NOT_WORD: Final = re.compile(r"[\W_]+")
_SPACE: Final = np.uint64(32)


# For ASCII text, `reduce_text` in one bytes pass: letters and digits kept, apostrophes
# dropped, every other byte a space (what `[\W_]` means for ASCII characters).
_ASCII_WORD_BYTES: Final = bytes(
    c if chr(c).isascii() and chr(c).isalnum() else 32 for c in range(256)
)
_ASCII_APOSTROPHES: Final = b"'`"


def reduce_text(folded: str) -> str:
    """`folded` as words of letters and digits between single spaces, padded by one each side."""
    if folded.isascii():
        # The regexes below, without their cost per character (a chat turn is mostly ASCII).
        parts = folded.encode().translate(_ASCII_WORD_BYTES, _ASCII_APOSTROPHES).split()
        return f" {b' '.join(parts).decode()} " if parts else ""
    words = _NOT_WORD.sub(" ", _APOSTROPHES.sub("", folded)).strip()
    return f" {words} " if words else ""


def _bucket(hashes: _U64) -> Ints:
    return ((hashes * MIX) >> _SHIFT).astype(np.int64)


def _powers(length: int) -> tuple[_U64, _U64]:
    """`B^k` and `B^-k` (modulo 2**64) for k below `length`, from a table grown on demand."""
    global _POWER_TABLES  # noqa: PLW0603 - a cache of constants, grown once to the longest text
    if len(_POWER_TABLES[0]) < length:
        size = max(length, 2 * len(_POWER_TABLES[0]))
        tables = []
        for base in (BASE, _BASE_INVERSE):
            table = np.full(size, base, np.uint64)
            table[0] = 1
            tables.append(np.cumprod(table, dtype=np.uint64))
        _POWER_TABLES = (tables[0], tables[1])
    return _POWER_TABLES[0][:length], _POWER_TABLES[1][:length]


_POWER_TABLES: tuple[_U64, _U64] = (np.ones(0, np.uint64), np.ones(0, np.uint64))
_powers(1 << 16)


def hashed(reduced: Sequence[str], words: bool = True) -> tuple[Ints, Ints]:
    """Every feature occurrence in `reduced` texts (`reduce_text`): (text index, bucket).

    `words=False` leaves out the word and word-pair features (character n-grams only).
    Character n-grams of different sizes need no salt: with code points below the base,
    their hashes are distinct polynomials.
    """
    joined = "\0".join(reduced)
    if not joined:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    codes = np.frombuffer(joined.encode("utf-32-le"), dtype=np.uint32).astype(np.uint64)
    length = len(codes)
    single = len(reduced) == 1
    separator = codes == 0
    doc = np.zeros(length, np.int64) if single else np.cumsum(separator, dtype=np.int64)
    docs: list[Ints] = []
    hashes: list[_U64] = []
    grams = codes
    for size in range(2, max(CHAR_SIZES) + 1):
        grams = grams[:-1] * BASE + codes[size - 1 :]
        if size not in CHAR_SIZES:
            continue
        count = length - size + 1
        if single:
            docs.append(doc[:count])
            hashes.append(grams)
        else:
            # An n-gram belongs to one text: it neither starts on nor crosses a separator.
            valid = (doc[:count] == doc[size - 1 :]) & ~separator[:count]
            docs.append(doc[:count][valid])
            hashes.append(grams[valid])
    if words:
        word_starts, word_hashes = _words(codes)
        word_docs = doc[word_starts]
        same = word_docs[:-1] == word_docs[1:]
        docs += [word_docs, word_docs[:-1][same]]
        hashes += [
            word_hashes ^ WORD_SALT,
            (word_hashes[:-1][same] * PAIR + word_hashes[1:][same]) ^ PAIR_SALT,
        ]
    return np.concatenate(docs), _bucket(np.concatenate(hashes))


def _words(codes: _U64) -> tuple[Ints, _U64]:
    """Where every word starts, and its hash: the same polynomial hash as the n-grams, read
    off prefix sums (`sum c[t] B^-t`, times `B^(end-1)`) so words of any length hash at once."""
    gap = (codes == _SPACE) | (codes == 0)
    edges = np.flatnonzero(gap[1:] != gap[:-1]) + 1
    # Every text starts and ends with a space: edges alternate word start, word end.
    starts, ends = edges[0::2], edges[1::2]
    if not len(starts):
        return np.zeros(0, np.int64), np.zeros(0, np.uint64)
    length = len(codes)
    powers, inverse_powers = _powers(length)
    prefix = np.zeros(length + 1, np.uint64)
    np.cumsum(codes * inverse_powers, dtype=np.uint64, out=prefix[1:])
    return starts, (prefix[ends] - prefix[starts]) * powers[ends - 1]


def tfidf(
    docs: Ints, rows: npt.NDArray[np.signedinteger[Any]], count: int, idf: Floats
) -> tuple[Ints, Ints, Floats]:
    """Sublinear TF-IDF weights, L2-normalised per text, of known features (`rows` >= 0).

    Returns (text index, feature row, weight), sorted by text then row.
    """
    known = rows >= 0
    width = len(idf)
    keys = docs[known] * width + rows[known]
    if count * width < 2**31:
        keys = keys.astype(np.int32)  # sorts in about half the time
    keys = np.sort(keys)
    if not len(keys):
        return np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.float32)
    # Runs of equal keys in the sorted keys: one feature of one text, counted.
    firsts = np.flatnonzero(np.concatenate(([True], keys[1:] != keys[:-1])))
    counts = np.diff(np.append(firsts, len(keys)))
    text, row = np.divmod(keys[firsts].astype(np.int64), width)
    weight = ((1.0 + np.log(counts)) * idf[row]).astype(np.float32)
    norms = np.sqrt(np.bincount(text, weights=weight * weight, minlength=count))
    weight /= norms[text].astype(np.float32)
    return text, row, weight
