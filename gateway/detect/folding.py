"""Folding: one canonical spelling of a text before any detector reads it.

Character tricks should not buy an evasion: `ｓａｒｉｎ`, `sa\u200brin`, `ѕаrіn` (Cyrillic),
`s4r1n`, `s a r i n` and `s.a.r.i.n` all fold to `sarin`. Steps, in order:

1. NFKC: fullwidth, ligatures, circled and mathematical letters become plain ones.
2. Case folding (`str.casefold`): accents are kept (`é` stays `é`), since the rule
   patterns are written with them (`[ée]`); only `ß` becomes `ss`, which they allow for.
3. One `str.translate`: format characters (Unicode category Cf: zero-width spaces and
   joiners, soft hyphens, direction marks) removed; Cyrillic and Greek letters that look
   like Latin ones mapped to them.
4. Letter separators: a run of at least three single Latin letters with one repeated separator
   between them (`s a r i n`, `s-a-r-i-n`) becomes one word.
5. Light l33t (`0→o 1→i 3→e 4→a 5→s 7→t @→a $→s`, `11→ll`), only in words that hold
   letters, and not where a number is glued to letters on one side only (`12`, `3114`,
   `5mg`, `1st`, `mp3`, `covid19`, `4x4` stay as they are). A digit standing alone is a
   number, never a letter (`1` for `I` is not folded).

Every step is linear: tables are built at import, the two regular expressions have
bounded repeats only, and their replacement callbacks do a bounded amount of work.
"""
# ruff: noqa: RUF001, RUF002, RUF003 - look-alike letters are this module's subject.

from __future__ import annotations

import re
import unicodedata
from typing import Final

# Latin look-alikes, written after case folding (an upper-case Cyrillic `Н` arrives as `н`).
_CONFUSABLES: Final = {
    # Cyrillic
    "а": "a", "в": "b", "е": "e", "ё": "e", "һ": "h", "і": "i", "ї": "i", "ј": "j",
    "к": "k", "ӏ": "l", "м": "m", "н": "h", "о": "o", "р": "p", "с": "c", "ѕ": "s",
    "т": "t", "у": "y", "ү": "y", "х": "x", "ԁ": "d", "ԛ": "q", "ԝ": "w",
    # Greek
    "α": "a", "β": "b", "γ": "y", "ε": "e", "η": "n", "ι": "i", "κ": "k", "ν": "v",
    "ο": "o", "ρ": "p", "τ": "t", "υ": "u", "χ": "x", "ω": "w",
    # Latin letters that only look like others
    "ı": "i", "ȷ": "j", "ɡ": "g",
}  # fmt: skip


# Format characters are assigned in planes 0, 1 and 14 only (2 and 3 hold ideographs, 15
# and 16 private use): looking there alone keeps the import quick.
_PLANES_WITH_FORMAT_CHARACTERS = (range(0x20000), range(0xE0000, 0xF0000))


def _format_characters() -> list[int]:
    """Every code point of Unicode category Cf (zero-width, joiners, marks of direction)."""
    return [
        c
        for plane in _PLANES_WITH_FORMAT_CHARACTERS
        for c in plane
        if unicodedata.category(chr(c)) == "Cf"
    ]


_TABLE: Final[dict[int, str | None]] = {
    **dict.fromkeys(_format_characters()),
    **{ord(k): v for k, v in _CONFUSABLES.items()},
}
# Whether a text holds anything the table changes: one C-speed search, so the common text
# (nothing to remove or map) skips the per-character dictionary look-ups of `translate`.
_TABLE_CHARS: Final = re.compile("[" + "".join(re.escape(chr(c)) for c in sorted(_TABLE)) + "]")
_LEET: Final = str.maketrans(
    {"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t", "@": "a", "$": "s"}
)
_LEET_CHARS: Final = frozenset("013457@$")

# The longest run of single letters joined into one word; longer runs join in pieces.
MAX_SPACED_LETTERS: Final = 40
# Latin letters only: look-alikes are Latin by now, and single accented letters are words
# (`il y a à peine` stays as it is).
_LETTER = "[a-z]"
# A single letter (no letter or digit on its left), its separator, then 2 or more
# "letter, same separator" pairs, ending on a letter with no letter or digit on its right.
_SPACED: Final = re.compile(
    rf"(?<![^\W_]){_LETTER}([ .\-_*·/|+~,])(?:{_LETTER}\1){{1,{MAX_SPACED_LETTERS - 2}}}"
    rf"{_LETTER}(?![^\W_])"
)
# A word as l33t writes it (letters, digits and the two symbols), holding a letter and a
# l33t character: the lookaheads are bounded and the callback runs on mixed words only.
# A word longer than 40 is read in pieces, which only loses folding on words that long.
_WORD: Final = re.compile(
    r"(?<![\w@$])(?=[\w@$]{0,39}[013457@$])(?=[\w@$]{0,39}[^\W\d_])[\w@$]{2,40}"
)
# A number glued to letters on one side only is a number with a unit, a rank or a name
# (`5mg`, `21st`, `mp3`, `covid19`), one letter between numbers a size or a score (`4x4`,
# `1v1`, `3d6`): not l33t.
_NUMBER_AND_LETTERS: Final = re.compile(r"[0-9]+[^\W\d_]+|[^\W\d_]+[0-9]+|[0-9]+[^\W\d_][0-9]+")


# Long texts are folded in pieces of about this many characters: every pass over a piece
# is one C call holding the GIL, so a worker thread folding a megabyte leaves the event
# loop free between pieces (one 1 MB `translate` held it for about 80 ms).
PIECE_CHARS: Final = 16_384
_CUT: Final = re.compile(r"[^\W_]{2}(?= )")


def _join_letters(match: re.Match[str]) -> str:
    return match[0].replace(match[1], "")


def _unleet(match: re.Match[str]) -> str:
    word = match[0]
    if _NUMBER_AND_LETTERS.fullmatch(word):
        return word
    return word.replace("11", "ll").translate(_LEET)


def fold(text: str) -> str:
    """The folded form of `text`, the one every detector scans."""
    if len(text) <= PIECE_CHARS:
        return _fold_piece(text)
    return "".join(_fold_piece(piece) for piece in _pieces(text))


def _pieces(text: str) -> list[str]:
    """`text` cut about every `PIECE_CHARS`, before a space that follows two letters or digits.

    No step reaches across such a cut: NFKC and the table work character by character
    there, a l33t word ends at the space, and a run of single letters can neither hold
    nor end on a letter with a letter or digit before it. A text with no such space for
    `PIECE_CHARS` is cut where it must, which folds only that adversarial text less well.
    """
    pieces = []
    start = 0
    while len(text) - start > PIECE_CHARS:
        found = _CUT.search(text, start + PIECE_CHARS, start + 2 * PIECE_CHARS)
        cut = found.end() if found else start + PIECE_CHARS
        pieces.append(text[start:cut])
        start = cut
    pieces.append(text[start:])
    return pieces


def _fold_piece(text: str) -> str:
    if text.isascii():
        folded = text.lower()
    else:
        folded = unicodedata.normalize("NFKC", text).casefold()
        if _TABLE_CHARS.search(folded):
            folded = folded.translate(_TABLE)
    folded = _SPACED.sub(_join_letters, folded)
    if not _LEET_CHARS.isdisjoint(folded):
        folded = _WORD.sub(_unleet, folded)
    return folded
