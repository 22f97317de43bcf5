"""Folding: one canonical spelling of a text before any detector reads it.

Character tricks should not buy an evasion: `ｓａｒｉｎ`, `sa\u200brin`, `ѕаrіn` (Cyrillic),
`s4r1n`, `s a r i n` and `s.a.r.i.n` all fold to `sarin`. Steps, in order:

1. NFKC: fullwidth, ligatures, circled and mathematical letters become plain ones.
2. Case folding (`str.casefold`): accents are kept (`é` stays `é`), since the rule
   patterns are written with them (`[ée]`); only `ß` becomes `ss`, which they allow for.
3. One `str.translate`: format characters (Unicode category Cf: zero-width spaces and
   joiners, soft hyphens, direction marks) removed; Cyrillic and Greek letters that look
   like Latin ones mapped to them.
4. Letter separators: a run of at least three single Latin letters, each pair separated
   by one to four separator characters, is spaced-out writing. When one separator comes
   back between most letters and others stand between some (`h o w  t o`, `h.o.w t.o`,
   `h-o-w / t-o`), those others are the word breaks; when one separator stands between
   all (`h o w t o m a k e s a r i n`), the letters become one word, cut back into words
   with `words` (the rule packs' vocabulary) when it holds them.
5. Symbols inside words: `()` for `o`, `!` and `|` for `i`, `||` for `ll`, `€` for `e`, and
   `vv` for `w`, each only between or beside letters (`hello!`, `a || b` stay).
6. l33t digits (`0→o 1→i 3→e 4→a 5→s 7→t 8→b 9→g @→a $→s`, `11→ll`), only in words that
   hold letters, and not in a number with a unit, a rank or a name: digits glued to one
   or two letters (`5mg`, `1st`, `mp3`, `4k`), two digits or more glued to letters on one
   side (`covid19`, `10am`, `1080p`), one letter between numbers (`4x4`, `3d6`). One digit
   before or after three letters or more is l33t (`5arin`, `8omb`, `di3`). A digit
   standing alone is a number, never a letter (`1` for `I` is not folded).

Every step is linear: tables are built at import, the regular expressions have bounded
repeats only and are searched from a literal or a class (C-speed skipping to where they
may match), and their replacement callbacks do a bounded amount of work; the spaced-out
runs cut back into words are at most `MAX_SEGMENTED` a text.
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


def _ranges(codes: list[int]) -> str:
    """A character class of `codes`, as ranges: `re` tests a few ranges per character."""
    spans: list[list[int]] = []
    for code in sorted(codes):
        if spans and spans[-1][1] == code - 1:
            spans[-1][1] = code
        else:
            spans.append([code, code])
    return (
        "["
        + "".join(re.escape(chr(a)) + ("-" + re.escape(chr(b)) if b > a else "") for a, b in spans)
        + "]"
    )


# Whether a text holds anything the table changes: one C-speed search, so the common text
# (nothing to remove or map) skips the per-character dictionary look-ups of `translate`.
_TABLE_CHARS: Final = re.compile(_ranges(list(_TABLE)))
# Of Latin-1, the table changes the soft hyphen only.
_TABLE_LATIN1: Final = "".join(chr(c) for c in _TABLE if c < 256)

_LEET: Final = str.maketrans(
    {
        "0": "o",
        "1": "i",
        "3": "e",
        "4": "a",
        "5": "s",
        "7": "t",
        "8": "b",
        "9": "g",
        "@": "a",
        "$": "s",
    }
)
# A l33t character glued to a letter, either side: only then is the word regex run.
_LEET_HINT: Final = re.compile(r"[013457-9@$](?<=[^\W\d_][013457-9@$])|[013457-9@$][^\W\d_]")

# The longest run of single letters handled as one; longer runs are handled in pieces.
MAX_SPACED_LETTERS: Final = 120
# Spaced-out runs cut back into words (`words`) in one text, at most: the cutting is a
# bounded search per run, and a text of nothing but spaced letters is joined past this.
MAX_SEGMENTED: Final = 4
_LONGEST_WORD = 24
# Latin letters only: look-alikes are Latin by now, and single accented letters are words
# (`il y a à peine` stays as it is).
_SEPARATORS = r"[ .\-_*·/|+~,:\t]"
# A single letter (no letter or digit on its left), then 2 or more "separators, letter",
# ending on a letter with no letter or digit on its right. It starts on a letter after a
# separator or at a start; `re` skips to candidates by the class of its first character.
_SPACED: Final = re.compile(
    rf"(?<![^\W_])[a-z](?:{_SEPARATORS}{{1,4}}[a-z](?![^\W_])){{2,{MAX_SPACED_LETTERS - 1}}}"
)
_SPACED_HINT: Final = re.compile(
    rf"[a-z]{_SEPARATORS}{{1,4}}[a-z]{_SEPARATORS}{{1,4}}[a-z](?![^\W_])"
)
_LETTERS: Final = re.compile(r"[a-z]")

# Symbols standing for letters, inside words only. Every alternative starts with its
# symbol, so `re` skips to the few places that hold one.
_SYMBOLS: Final = re.compile(
    r"\(\)(?<=[^\W\d_]\(\))(?=[^\W_])"
    r"|\|\|(?<=[^\W\d_]\|\|)"
    r"|!(?<=[^\W\d_]!)(?=[^\W_])"
    r"|\|(?<=[^\W\d_]\|)(?=[^\W_])"
    r"|€(?=[^\W\d_])|€(?<=[^\W\d_]€)"
    r"|vv(?<=[^\W\d_]vv)|vv(?=[^\W\d_])"
)
_SYMBOL_LETTERS: Final = {"()": "o", "||": "ll", "!": "i", "|": "i", "€": "e", "vv": "w"}
_SYMBOL_HINTS: Final = ("()", "!", "|", "€", "vv")

# A word as l33t writes it (letters, digits and the two symbols), holding a letter and a
# l33t character: the lookaheads are bounded and the callback runs on mixed words only.
# A word longer than 40 is read in pieces, which only loses folding on words that long.
_WORD: Final = re.compile(
    r"(?<![\w@$])(?=[\w@$]{0,39}[013457-9@$])(?=[\w@$]{0,39}[^\W\d_])[\w@$]{2,40}"
)
# A number with a unit, a rank or a name (`5mg`, `21st`, `mp3`, `covid19`, `10am`), one
# letter between numbers a size or a score (`4x4`, `1v1`, `3d6`): not l33t.
_NUMBER_AND_LETTERS: Final = re.compile(
    r"[0-9]{1,40}[^\W\d_]{1,2}|[^\W\d_]{1,2}[0-9]{1,40}"
    r"|[0-9]{2,40}[^\W\d_]{1,40}|[^\W\d_]{1,40}[0-9]{2,40}|[0-9]{1,40}[^\W\d_][0-9]{1,40}"
)


# Long texts are folded in pieces of about this many characters: every pass over a piece
# is one C call holding the GIL, so a worker thread folding a megabyte leaves the event
# loop free between pieces (one 1 MB `translate` held it for about 80 ms).
PIECE_CHARS: Final = 16_384
_CUT: Final = re.compile(r"[^\W_]{2}(?= )")


def _unleet(match: re.Match[str]) -> str:
    word = match[0]
    if _NUMBER_AND_LETTERS.fullmatch(word):
        return word
    return word.replace("11", "ll").translate(_LEET)


def _symbol(match: re.Match[str]) -> str:
    return _SYMBOL_LETTERS[match[0]]


def fold(text: str, words: frozenset[str] = frozenset()) -> str:
    """The folded form of `text`, the one every detector scans; `words`, a vocabulary,
    cuts letters spaced out with no word breaks back into words."""
    if len(text) <= PIECE_CHARS:
        return _fold_piece(text, words, [MAX_SEGMENTED])
    budget = [MAX_SEGMENTED]
    return "".join(_fold_piece(piece, words, budget) for piece in _pieces(text))


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


def _fold_piece(
    text: str, words: frozenset[str] = frozenset(), budget: list[int] | None = None
) -> str:
    """One piece of `fold`; `budget` holds how many runs may still be cut into words."""
    budget = [MAX_SEGMENTED] if budget is None else budget
    if text.isascii():
        folded = text.lower()
    else:
        folded = unicodedata.normalize("NFKC", text).casefold()
        if _changes(folded):
            folded = folded.translate(_TABLE)
    if _SPACED_HINT.search(folded):
        folded = _SPACED.sub(lambda match: _unspace(match[0], words, budget), folded)
    if any(hint in folded for hint in _SYMBOL_HINTS):
        folded = _SYMBOLS.sub(_symbol, folded)
    if _LEET_HINT.search(folded):
        folded = _WORD.sub(_unleet, folded)
    return folded


def _changes(folded: str) -> bool:
    """Whether the table changes anything in `folded`."""
    try:
        folded.encode("latin-1")
    except UnicodeEncodeError:
        return _TABLE_CHARS.search(folded) is not None
    return any(c in folded for c in _TABLE_LATIN1)


def _unspace(run: str, words: frozenset[str], budget: list[int]) -> str:
    """A run of spaced-out letters as the words it spells (see the module's doc, step 4)."""
    letters = _LETTERS.findall(run)
    gaps = _LETTERS.split(run)[1:-1]
    if len({len(gap) for gap in gaps}) > 1 and min(len(gap) for gap in gaps) == 1:
        # One-character separators inside words, wider ones between them (`h o w  t o`,
        # `s a r i n | s.a.r.i.n`): each part between wide ones is read on its own.
        parts: list[str] = []
        start = 0
        for i, gap in enumerate(gaps):
            if len(gap) > 1:
                parts.append(_spelled(letters[start : i + 1], gaps[start:i], words, budget))
                start = i + 1
        parts.append(_spelled(letters[start:], gaps[start:], words, budget))
        spelled = " ".join(parts)
    else:
        spelled = _spelled(letters, gaps, words, budget)
    # Abbreviations (`e.g. i.e.`, `a.b-c d`): nothing spelled out is longer than 2 letters.
    return spelled if max(map(len, spelled.split(" "))) > 2 else run


def _spelled(letters: list[str], gaps: list[str], words: frozenset[str], budget: list[int]) -> str:
    """Letters and the separators between them as words: the most common separator (the
    shortest of equally common ones) joins letters, others break words; one separator
    throughout joins all, cut back into `words` when they cover them."""
    if len(set(gaps)) > 1:
        inner = max(set(gaps), key=lambda gap: (gaps.count(gap), -len(gap)))
        spelled = [letters[0]]
        for gap, letter in zip(gaps, letters[1:], strict=True):
            spelled.append(letter if gap == inner else " " + letter)
        return "".join(spelled)
    joined = "".join(letters)
    if not words or budget[0] <= 0 or len(joined) < 2:
        return joined
    budget[0] -= 1
    return segment(joined, words)


def segment(joined: str, words: frozenset[str]) -> str:
    """`joined` cut into the fewest words of `words`; letters no word covers stay glued
    together (`howtomakesarin` -> `how to make sarin`)."""
    length = len(joined)
    # best[i]: (cost, start of the last piece, whether it is a word) for joined[:i]. A
    # word costs 1, a letter outside words 3: few, long, known words win.
    best: list[tuple[int, int, bool]] = [(0, 0, False)] + [(1 << 30, 0, False)] * length
    for end in range(1, length + 1):
        cost = best[end - 1][0] + 3
        choice = (cost, end - 1, False)
        for start in range(max(0, end - _LONGEST_WORD), end):
            if best[start][0] + 1 < choice[0] and joined[start:end] in words:
                choice = (best[start][0] + 1, start, True)
        best[end] = choice
    out: list[str] = []
    end = length
    while end > 0:
        _, start, word = best[end]
        if not word and out and out[-1].startswith("\0"):
            out[-1] = "\0" + joined[start] + out[-1][1:]
        else:
            out.append(joined[start:end] if word else "\0" + joined[start])
        end = start
    return " ".join(piece.lstrip("\0") for piece in reversed(out))
