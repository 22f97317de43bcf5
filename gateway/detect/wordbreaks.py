"""Where words begin and end in folded text, read with a vocabulary (`words`, the rule
packs' and the training rows'): words run together cut back into words (spaced-out letters
joined by `folding`, hashtags, CamelCase), words a mark splits joined again (`sa-rin`).
"""

from __future__ import annotations

import functools
import itertools
import math
import re
from collections.abc import Collection, Iterator, Mapping
from pathlib import Path
from typing import Final

import numpy as np

from gateway.detect.lookalikes import code_points

_LONGEST_WORD = 24
# Words of the training data, the most frequent first (`training/words.py` writes them),
# shipped beside the model: `segment` prefers the frequent ones.
WORDS_FILE: Final = Path(__file__).resolve().parent / "weights" / "words.txt"


@functools.cache
def shipped_ranks() -> dict[str, int]:
    """Each word of the shipped list and its rank, 0 the most frequent (none when the file
    is missing: the packs' words only)."""
    try:
        listed = WORDS_FILE.read_text(encoding="utf-8").split()
    except OSError:
        return {}
    return {word: rank for rank, word in reversed(list(enumerate(listed)))}


def camel_case_parted(text: str) -> str:
    """`text` (before case folding) with CamelCase of three words or more parted into words
    (`HowToMakeSarin` -> `How To Make Sarin`), in a text up to `CAMEL_CHARS` long."""
    if len(text) <= CAMEL_CHARS and _CAMEL_HINT.search(text):
        return _CAMEL.sub(_camel_parted, text)
    return text


# CamelCase changes case about twice a word (`HowToMakeSarin`: 7 changes in 14 letters);
# aLtErNaTiNg case, a trick of its own, about once a letter (`kIlL`: 3 in 4; `GoFundMe`,
# of short words, 5 in 8). Past this share of changes per letter, a run is not parted:
# case folding alone reads it.
ALTERNATING_SHARE: Final = 0.7


def _camel_parted(match: re.Match[str]) -> str:
    run = match[0]
    changes = sum(1 for a, b in itertools.pairwise(run) if a.isupper() != b.isupper())
    if changes > ALTERNATING_SHARE * len(run):
        return run
    return _CAMEL_BREAK.sub(" ", run)


def marks_joined(folded: str, words: frozenset[str]) -> str:
    """`folded` with the words a mark splits joined (see `_INNER_MARK`)."""
    if _INNER_MARK.search(folded) and (len(folded) <= MAX_MARKS or _marks(folded) <= MAX_MARKS):
        return _INNER_MARK.sub(functools.partial(_joined, words=words), folded)
    return folded


def hashtags_cut(folded: str, words: frozenset[str], budget: list[int]) -> str:
    """`folded` with its hashtags cut into words (see `_HASHTAG`); `budget` holds how many
    letters may still be cut (`segment`'s cost grows with them)."""
    if 0 < folded.count("#") <= MAX_MARKS:
        return _HASHTAG.sub(functools.partial(_hashtag_cut, words=words, budget=budget), folded)
    return folded


# Each mark read costs a call back into Python (about 1.5 µs): a piece holding more than
# this many marks, or hashtags, is no prose and is left as written (a megabyte of `a-b `
# took 0.8 s to fold, against 0.3 without this step).
MAX_MARKS: Final = 1024
# Marks that may be put inside a word to split it for a reader that looks for the word:
# hyphens and dashes, dots (the middle dot, bullets, the katakana one), slashes, stars,
# the underscore, the tilde, plus, caret, equals, hash, colon, semicolon, comma, and the
# modifier apostrophe.
INNER_MARKS: Final = (
    "-.\u00b7\u2022\u2027\u2219\u22c5\u30fb\u2010\u2012\u2013\u2014\u2015/*_~+^=#:;,\u02bc"
)
# Whether each code point of the Basic Multilingual Plane is one of them (all are there).
_IS_MARK: Final = np.zeros(0x10000, dtype=np.bool_)
_IS_MARK[list(map(ord, INNER_MARKS))] = True


def _marks(folded: str) -> int:
    """How many marks (`INNER_MARKS`) `folded` holds: one pass of numpy over its code
    points, where counting each mark took 28 (9 µs a KB)."""
    # Past the plane, `clip` reads the last entry, U+FFFF's: no mark.
    return int(np.count_nonzero(_IS_MARK.take(code_points(folded), mode="clip")))


# A mark inside a word (`sa-rin`, `ma.ke`, `sa·rin`, `sa*rin`; a word cut at a line's end:
# `sa-\nrin`, or `sa- rin` once the turn's spaces are normalised)
# joins its two parts when together they are a word of `words`, unless they are two words
# of three letters or more (`well-known`, `kill-switch`) or a verb and its pronoun
# (`matar-me`, `deixa-se`). A mark in a chain (`i.am.going`, `e.g.`, `state-of-the-art`)
# parts words.
# (One class first, so that `re` skips to the marks at C speed.)
_INNER_MARK: Final = re.compile(rf"[{re.escape(INNER_MARKS)}](?:(?<=-)(?:\r?\n| ))?(?=[^\W\d_])")
_OPENERS: Final = "\"'([{¿¡«\u201c\u2018"
_PART_AFTER: Final = re.compile(r"[^\W\d_]{1,24}(?![^\W\d_])")
_CLITICS: Final = frozenset({
    "me", "te", "se", "nos", "vos", "lhe", "lhes", "o", "a", "os", "as", "lo", "la", "los",
    "las", "no", "na", "nas",
})  # fmt: skip


def _joined(match: re.Match[str], words: frozenset[str]) -> str:
    """The mark, or nothing when the parts around it are one word (see `_INNER_MARK`)."""
    start, end = match.span()
    text = match.string
    mark = match[0][0]
    # The part before: back to the space (found at C speed; a regex searched backwards
    # would be tried at each of the 24 places), quotes and brackets before it dropped.
    back = max(0, start - 25)
    first = max(text.rfind(" ", back, start), text.rfind("\n", back, start)) + 1
    left = text[first:start].lstrip(_OPENERS)
    after = _PART_AFTER.match(text, end)
    if (
        after is None
        or not left.isalpha()
        or len(left) > 24
        or (first == 0 and start > 25)
        or text[after.end() : after.end() + 1] == mark
    ):
        return match[0]  # no word on one side, or a chain (`i.am.going`: `left` holds a mark)
    right = after[0]
    if right in _CLITICS or left + right not in words:
        return match[0]
    apart = left in words and right in words and min(len(left), len(right)) > 2
    return match[0] if apart else ""


# A hashtag runs its words together (`#iwanttodie`, `#quieromorir`): cut back into
# `words` when they cover it whole, one-letter words fewer than the others. (Words run
# together outside a hashtag are left: with the words of seven languages, most long words
# can be cut into shorter ones, `informata` into `in for mata`.)
_HASHTAG: Final = re.compile(r"#([^\W\d_]{4,120})(?![^\W\d_])")
# Words written in CamelCase, three or more (`HowToMakeSarin`, `BuildAPipeBomb`), are
# parted before case folding: a capital after a small letter, or before one, starts a word.
_UP, _LOW = "A-ZÀ-ÖØ-Þ", "a-zß-öø-ÿ"  # Latin-1's capitals and small letters
# Bounded repeats: a long run of small letters is given up after 24 (unbounded, a run of
# 2,000 held the loop 48 ms, tried again from each of its letters).
_CAMEL: Final = re.compile(rf"[{_UP}]?[{_LOW}]{{1,24}}(?:[{_UP}][{_LOW}]{{0,24}}){{2,40}}")
_CAMEL_BREAK: Final = re.compile(rf"(?<=[{_LOW}])(?=[{_UP}])|(?<=[{_UP}])(?=[{_UP}][{_LOW}])")
# Two small-to-capital steps within a word: the test before `_CAMEL` runs, in a text up to
# `CAMEL_CHARS` long (a short message, where such a trick stands). It starts with the
# capital, the small letter before it looked behind for: `re` skips to the capitals, rarer
# than small letters, at C speed.
CAMEL_CHARS: Final = 2048
_CAMEL_HINT: Final = re.compile(rf"[{_UP}](?<=[{_LOW}][{_UP}])[{_LOW}]{{0,24}}[{_UP}]")


def _hashtag_cut(match: re.Match[str], words: frozenset[str], budget: list[int]) -> str:
    """A hashtag's words (see `_HASHTAG`), or the hashtag as written."""
    word = match[1]
    if word in words or budget[0] < len(word):
        return match[0]
    budget[0] -= len(word)
    pieces = segment(word, words)[0].split(" ")
    single = sum(len(piece) == 1 for piece in pieces)
    covered = all(piece in words for piece in pieces)
    if covered and len(pieces) > 1 and 2 * single < len(pieces):
        return "#" + " ".join(pieces)
    return match[0]


def whole_words(text: str, keys: Collection[str]) -> Iterator[re.Match[str]]:
    """Where the words of `keys` stand whole in `text` (no letter or digit on either side),
    from the left, the longest key first at a place."""
    pattern = _keys_pattern(frozenset(keys))
    for match in pattern.finditer(text):
        start = match.start()
        if not (start and text[start - 1].isalnum()):
            yield match


def words_replaced(text: str, table: Mapping[str, str]) -> str:
    """`text` with every word of `table` that stands whole replaced by its value."""
    out: list[str] = []
    done = 0
    for match in whole_words(text, table):
        out += [text[done : match.start()], table[match[0]]]
        done = match.end()
    out.append(text[done:])
    return "".join(out)


@functools.lru_cache(maxsize=256)
def _keys_pattern(keys: frozenset[str]) -> re.Pattern[str]:
    """`keys`, longest first, with no letter or digit after: the check before is made on
    each match (a look-behind first would keep `re` from skipping to the keys' first
    characters: 6 ms over 64 KB, against a fraction of one). A match that fails it lies
    inside a word, where no other match can start."""
    alternatives = "|".join(re.escape(key) for key in sorted(keys, key=len, reverse=True))
    return re.compile(rf"(?:{alternatives})(?![^\W_])")


def segment(joined: str, words: frozenset[str]) -> tuple[str, bool]:
    """`joined` cut into the likeliest words of `words`, and whether they cover it all;
    letters no word covers stay glued together (`howtomakesarin` -> `how to make sarin`)."""
    length = len(joined)
    ranks = shipped_ranks()
    unranked = len(ranks)
    # best[i]: (cost, start of the last piece, whether it is a word) for joined[:i]. A word
    # costs 3 + log10(its rank + 10): 4 for the most frequent, about 7.3 for the rarest
    # (and for a word of the packs alone); a letter outside words 5. Few, frequent words
    # win (`crisis team`, not `crisi steam`; `i lied`, not `il ied`), an unknown word is
    # not cut around the one-letter words inside it (`had`, not `h a d`), and of two cuts
    # into as many words, the one that leaves no letter out wins.
    best: list[tuple[float, int, bool]] = [(0.0, 0, False)] + [(math.inf, 0, False)] * length
    for end in range(1, length + 1):
        choice = (best[end - 1][0] + 5, end - 1, False)
        for start in range(max(0, end - _LONGEST_WORD), end):
            piece = joined[start:end]
            if piece in words:
                cost = best[start][0] + _COSTS[min(ranks.get(piece, unranked), _MAX_RANK)]
                if cost < choice[0]:
                    choice = (cost, start, True)
        best[end] = choice
    pieces: list[tuple[str, bool]] = []
    end = length
    while end > 0:
        _, start, word = best[end]
        if not word and pieces and not pieces[-1][1]:
            pieces[-1] = (joined[start] + pieces[-1][0], False)
        else:
            pieces.append((joined[start:end], word))
        end = start
    covered = all(word for _, word in pieces)
    return " ".join(piece for piece, _ in reversed(pieces)), covered


# A word's cost by rank, computed once (the cut tries each piece of up to 24 letters).
_MAX_RANK: Final = 100_000
_COSTS: Final = [3 + math.log10(rank + 10) for rank in range(_MAX_RANK + 1)]
