"""Folding: one canonical spelling of a text before any detector reads it.

Character tricks should not buy an evasion: `ｓａｒｉｎ`, `sa\u200brin`, `ѕаrіn` (Cyrillic),
`s4r1n`, `s a r i n`, `s.a.r.i.n`, `s̶a̶r̶i̶n̶`, `ꜱᴀʀɪɴ`, `s&#97;rin`, `sa-rin` and
`#howtomakesarin` all fold to `sarin`. Steps, in order:

0. Markup a model reads as letters (`markup`: character references, escapes, inline
   tags, emphasis), and CamelCase of three words or more parted (`HowToMakeSarin`:
   `wordbreaks`).
1. NFKC: fullwidth, ligatures, circled and mathematical letters become plain ones (and,
   read just before it, parenthesized ones: `⒮⒜⒭⒤⒩`).
2. Case folding (`str.casefold`): accents are kept (`é` stays `é`), since the rule
   patterns are written with them (`[ée]`); only `ß` becomes `ss`, which they allow for.
3. One `str.translate` (tables in `lookalikes`): invisible characters removed (format
   characters, Unicode category Cf: zero-width spaces and joiners, soft hyphens,
   direction marks; the other default-ignorable ones: variation selectors, the combining
   grapheme joiner, Hangul fillers; combining marks that NFKC found no letter to compose
   with: `s̶a̶r̶i̶n̶`); look-alike letters mapped to Latin ones (every letter Unicode's
   confusables data draws like one: Cyrillic, Greek, Armenian, Cherokee, Coptic, Lisu,
   Canadian syllabics and more; small capitals, IPA and turned letters, regional indicator
   symbols, negative circled and squared letters; upper-case look-alikes read before case
   folding: `ΗΟW` is `how`); tag characters read as the ASCII they mirror (hidden text
   some models read).
   Accents strewn over a text as a trick are then read away: from a word holding an
   accented letter no language read writes (`śárín`), and from a text whose letters are
   mostly accented (`hów tó máké`) or that holds a word accented as no language read
   writes one (`kíll thé móst péóplé`). Pictographs glued between two letters (`ki🔪ll`) are
   removed; between single spaced letters (`s 🔥 a 🔥 r`), they are a separator.
4. Letter separators: a run of at least three single Latin letters, each pair separated
   by one to four separator characters (spaces, line breaks, punctuation, pictographs), is
   spaced-out writing. Line breaks between fewer letters than the other separators are
   the word breaks (`h o w\nt o`). When one separator comes back between most letters
   and others stand between some (`h o w  t o`, `h  o  w t  o`, `h.o.w t.o`, `h-o-w /
   t-o`), those others are the word breaks; when one separator stands between all (`h o
   w t o m a k e s a r i n`), the letters become one word, cut back into words with
   `words` (the rule packs' vocabulary) when it holds them, or kept as one word when it
   does not and the run is long (`f l ü c h t l i n g s h e i m`).
   Then, with `words` (`wordbreaks`): a hyphen or a dot inside a word joins its parts
   when together they are a word and apart they are not two (`sa-rin`; `well-known`
   stays), and a hashtag is cut into the words that cover it (`#iwanttodie`).
5. Symbols beside letters or digits: `()` for `o`, `!` for `i` (only between two: `hello!`
   and `!done` stay), `|` for `l` (`i` before an `l`: `k|ll`), `||` for `ll`, `€` for `e`,
   and letters drawn with several (`|<` k, `|-|` h, `|_` l; n, m and a drawn with
   slashes), read again where the first reading left symbols beside letters (`|<!|_|_`);
   symbols between spaces stay (`a || b`). `vv` is not read as `w`: it is a real pair of
   letters too often (`CVV`, Brazil's crisis line; `savvy`).
6. l33t digits (`0→o 1→i 3→e 4→a 5→s 7→t 8→b 9→g @→a $→s`, `11→ll`), only in words that
   hold letters, and not in a number with a unit, a rank or a name: digits glued to one
   or two letters (`5mg`, `1st`, `mp3`, `4k`), two digits or more glued to letters on one
   side (`covid19`, `10am`, `1080p`), one letter between numbers (`4x4`, `3d6`). One digit
   before or after three letters or more is l33t (`5arin`, `8omb`, `di3`). A digit
   standing alone is a number (`1`, `4`). In a text where two words or more were l33t,
   `0 1 3 4` alone are `o i e a` (`1 w15h 1 h4d`), names are l33t too (`v415`, `p450`:
   only units, ranks, sizes and versions stay) and so is a `!` starting a word.
7. Letters stretched for emphasis (`dieeee`, `pleaseeee`, `kiiiilll`): a run of three or
   more of one letter, which the languages read never write but where German compounds
   meet (`schifffahrt`, `schießstand`), is read as the word of `words` that one or two of
   it spell (`kill`), else as one letter; three consonants inside a word stay. A word of
   `words` (`xxx`) and three letters alone (`www`) stay as they are. Before step 4, a
   word of six letters or more written with every letter twice (`ssaarriinn`), not one
   letter stretched (`kkkkkk`), is read with each once (and, beside another such word,
   shorter ones: `ttoo`, `ii`).

Every step is linear: tables are built at import, the regular expressions have bounded
repeats only (`_MISSPELT`'s read each letter once) and are searched from a literal or a
class (C-speed skipping to where they may match), and their replacement callbacks do a
bounded amount of work; the spaced-out letters cut back into words are at most
`MAX_SEGMENTED` a text. In a long text, one pass of numpy over its code points first finds
which classes of characters it holds (`_census`) and where single letters cluster
(`_spaced_spans`), so that a step runs only where it may change something, and the table
is applied with numpy (`lookalikes.Translation`).
"""
# ruff: noqa: RUF001, RUF002, RUF003 - look-alike letters are this module's subject.

from __future__ import annotations

import functools
import itertools
import re
import unicodedata
from collections.abc import Callable
from typing import Final

import numpy as np
import numpy.typing as npt

from gateway.detect import lookalikes, markup, wordbreaks
from gateway.detect.wordbreaks import segment

_TABLE: Final = lookalikes.table()
_TABLE_READ: Final = lookalikes.Translation(_TABLE)


# Whether a text holds anything the table changes: one C-speed search, so the common text
# (nothing to remove or map) skips the per-character dictionary look-ups of `translate`.
# `re` tests a class of characters outside the Basic Multilingual Plane range by range, at
# every position (about 11 µs a KB for the table's, against 2 for those within it): those
# out there are read with the pictographs, in one pass over a text that holds some.
_TABLE_CHARS: Final = re.compile(lookalikes.ranges(c for c in _TABLE if c <= 0xFFFF))
# Look-alikes NFKC turns into another letter's: the lunate sigma (`ϲ`, drawn as `c`) would
# become `σ`, drawn as `o`.
# Parenthesized letters (`⒮⒜⒭⒤⒩`), which NFKC would make `(s)(a)(r)(i)(n)`, are read as the
# letters they hold.
_BEFORE_NFKC: Final = str.maketrans(
    {"ϲ": "c", "Ϲ": "C"} | {chr(0x249C + i): chr(ord("a") + i) for i in range(26)}
)
_BEFORE_NFKC_CHARS: Final = re.compile("[ϲϹ\u249c-\u24b5]")
# Upper-case look-alikes whose small letter looks like another (`Η`, `η`), read before
# case folding in a text outside Windows-1252.
_UPPER_READ: Final = lookalikes.Translation(
    {ord(upper): letter for upper, letter in lookalikes.UPPER_CONFUSABLES.items()}
)
_UPPER_CHARS: Final = re.compile(lookalikes.ranges(map(ord, lookalikes.UPPER_CONFUSABLES)))


def _in_cp1252(char: str) -> bool:
    return char.encode("cp1252", errors="replace") != b"?"


# Of Windows-1252 (Latin-1 and the typographic quotes and dashes of most Western text),
# the table changes the soft hyphen only: such a text is checked for it alone.
_TABLE_CP1252: Final = "".join(chr(c) for c in _TABLE if _in_cp1252(chr(c)))

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
# A l33t character glued to a letter, either side: only then is the word regex run, on the
# words between the spaces around it (every word it reads holds such a pair).
_LEET_HINT: Final = re.compile(r"[013457-9@$](?<=[^\W\d_][013457-9@$])|[013457-9@$][^\W\d_]")

# The longest run of single letters handled as one; longer runs are handled in pieces.
MAX_SPACED_LETTERS: Final = 120
# Spaced-out letters cut back into words (`words`) in one text, at most: the cutting is a
# bounded search per letter (about a microsecond), and past this letters are only joined.
MAX_SEGMENTED: Final = 512
# Spelled out between word breaks, more letters than this are a phrase rather than a word.
_ONE_WORD_LETTERS = 12
# A run of this many single letters or more, one separator throughout, is never an
# abbreviation.
_ONE_WORD_RUN = 8
# A run of three that starts or ends on a digit is a number among short words, not a word
# spaced out (`il y a 3 ans`, `de 2 a 3 días`: read `yae`, `2ae`, they hid the number).
_SHORT_RUN = 3
# Latin letters only: look-alikes are Latin by now, and single accented letters are words
# (`il y a à peine` stays as it is).
_SEPARATORS = rf"[ .\-_*·/|+~,:;?\t\n\r\[\]\"'{lookalikes.BMP_PICTOGRAPHS}]"
_BLANK: Final = frozenset(" \t\n\r")
# Marks that end a phrase rather than a word (`i w a n t . i t h u r t s`).
_PHRASE_MARKS = frozenset(".,:;?")
# A separator, a single letter, then 2 or more "separators, letter", ending on a letter
# with no letter or digit on its right. The separator before the run is matched (and put
# back) so that the pattern starts with a class of rare characters, which `re` skips to at
# C speed; a text is searched with a space before it, for a run at its start.
_SINGLE = r"[^\W_](?![^\W_])"
_SPACED: Final = re.compile(
    rf"({_SEPARATORS})([^\W_](?:{_SEPARATORS}{{1,4}}{_SINGLE}){{2,{MAX_SPACED_LETTERS - 1}}})"
)
_LETTERS: Final = re.compile(r"[^\W_]")
# `_SPACED` is tried at every separator (every space: about 17 µs a KB of prose, where it
# seldom matches): past `lookalikes.VECTOR_CHARS`, numpy first finds the letters and digits
# standing alone (`_spaced_spans`), and `_SPACED` is searched only where three or more
# stand close enough to be a run. Letters of a run stand at most this far apart (one to
# four separators between).
_SPACED_REACH: Final = 5

# Symbols standing for letters, beside a word character (`t()`, `()n`, `fee|`, `7h€`): `!`
# only between two (`k!ll`; `hello!`, `!done` stay), none between spaces (`a || b`).
# Every alternative starts with its symbol, so `re` skips to the few places that hold one.
# A letter, a digit, or a symbol that stands for one; `|` and `!` are neighbours of the
# other only (`!|` is `il`; `||` and `!!` are operators).
_W = r"(?:[^\W_]|[€!|@$()])"
_NOT_BAR = r"(?:[^\W_]|[€!@$()])"
_NOT_BANG = r"(?:[^\W_]|[€|@$()])"
# Letters drawn with several symbols, beside a letter: `|\/|` m, `|\|` n, `|-|` h, `|<` k,
# `|_` l, `/\` a (`|<!|_|_`, `m/\|<e`), the longest first.
_DRAWN: Final = {"|\\/|": "m", "|\\|": "n", "|-|": "h", "|<": "k", "|_": "l", "/\\": "a"}
_DRAWN_ALTERNATIVES: Final = "".join(
    rf"{re.escape(drawn)}(?<={_W}{re.escape(drawn)})|{re.escape(drawn)}(?={_W})|"
    for drawn in _DRAWN
)
_SYMBOLS: Final = re.compile(
    _DRAWN_ALTERNATIVES
    + rf"\(\)(?<={_W}\(\))|\(\)(?={_W})|\|\|(?<={_NOT_BAR}\|\|)|\|\|(?={_NOT_BAR})"
    rf"|\|(?<={_NOT_BAR}\|)|\|(?={_NOT_BAR})|!(?<={_NOT_BANG}!)(?={_NOT_BANG})"
    rf"|€(?<={_W}€)|€(?={_W})"
)
# In a l33t text, `!` starting a word is an `i` too (`!nfant`).
_FIRST_BANG: Final = re.compile(r"!(?<![^\W_]!)(?=[^\W\d_])")
_SYMBOL_LETTERS: Final = {"()": "o", "||": "ll", "!": "i", "|": "l", "€": "e"} | _DRAWN
_SYMBOL_HINTS: Final = ("()", "!", "|", "€", "/\\")


# A word as l33t writes it (letters, digits and the two symbols), holding a l33t character
# glued to a letter (a `_LEET_HINT`: `h4ck`, not `x_0` or `ab2017`): the lookahead is
# bounded and the callback runs on mixed words only. A word longer than 40 is read in
# pieces, which only loses folding on words that long.
_WORD: Final = re.compile(
    r"(?<![\w@$])(?=[\w@$]{0,38}(?:[013457-9@$][^\W\d_]|[^\W\d_][013457-9@$]))[\w@$]{2,40}"
)
# Units and ordinals written after a number (`5mg`, `1st`, `10am`, `90s`, `4k`, `2e`, `1er`).
_UNITS = (
    "am|pm|mg|kg|km|cm|mm|ml|gb|mb|kb|tb|hz|px|pt|ft|lbs?|oz|in|yo|yrs?|hrs?|min|"
    "ms|fps|mph|kwh?|mah|ghz|mhz|er|[eè]me|[kmgshdxpbve]"
)
# A number with a unit, a rank or a name (`5mg`, `21st`, `10am`, `mp3`, `ps5`, `covid19`,
# `a380`),
# a version (`v1`), one letter between numbers a size or a score (`4x4`, `1v1`, `3d6`):
# not l33t. One letter
# and one or two digits (`m3`, `l4`, `d45`), letters with a vowel and a digit (`un4`,
# `cóm0`), a digit and a word (`5arin`) are.
_UNIT_NUMBERS = (
    rf"[0-9]{{1,40}}(?:{_UNITS})|[0-9]{{0,39}}(?:1st|2nd|3rd|[0-9]th)"
    r"|[1-9][0-9]{0,3}[xvd][1-9][0-9]{0,3}|v[0-9]{1,40}"
)
_NUMBER_AND_LETTERS: Final = re.compile(
    rf"{_UNIT_NUMBERS}|[b-df-hj-np-tv-xz]{{2,3}}[0-9]|[^\W\d_]{{3,40}}[0-9]{{2,40}}"
    r"|[^\W\d_][0-9]{3,40}"
)
# In a text where two words or more were l33t, names are read as l33t too (`v415`, `l053`):
# only numbers with units, ranks, sizes and versions stay.
_UNIT_NUMBER: Final = re.compile(_UNIT_NUMBERS)


# Long texts are folded in pieces of about this many characters: every pass over a piece
# is one C call holding the GIL, so a worker thread folding a megabyte leaves the event
# loop free between pieces (one 1 MB `translate` held it for about 80 ms).
PIECE_CHARS: Final = 16_384
_CUT: Final = re.compile(r"[^\W_]{2}(?= )")


# A digit standing alone, as l33t writes `I`, `a`, `e`, `o` (`1 w15h`, `4 70d05`): read so
# only in a text where two words or more were l33t.
# (The digit first, then the look behind it: `re` skips to the digits at C speed.)
_LONE_DIGIT: Final = re.compile(r"[0134](?<![\w.,:/$€£%+-][0134])(?![\w.,:/%$€£+-])")


# A word followed by a decimal part is a version or a number (`python3.11`, `v2.0`).
_VERSION: Final = re.compile(r"[.,][0-9]")


def _unleet(match: re.Match[str], changed: list[int], numbers: re.Pattern[str]) -> str:
    word = match[0]
    if numbers.fullmatch(word) or _VERSION.match(match.string, match.end()):
        return word
    changed[0] += 1
    return word.replace("11", "ll").translate(_LEET)


def _symbol(match: re.Match[str]) -> str:
    # `|` is `l` (`fee|`, `a|l`), or `i` before an `l` (`k|ll`).
    if match[0] == "|" and match.string[match.end() : match.end() + 1] == "l":
        return "i"
    return _SYMBOL_LETTERS[match[0]]


# Texts up to this many characters are folded once and remembered (the last
# `CACHED_TEXTS`): a turn is folded for more than one reading of a request, and a
# conversation's earlier turns come back in the window of every request after them.
CACHED_CHARS: Final = 4096
CACHED_TEXTS: Final = 512


def fold(text: str, words: frozenset[str] = frozenset()) -> str:
    """The folded form of `text`, the one every detector scans; `words`, a vocabulary,
    cuts letters spaced out with no word breaks back into words."""
    if len(text) <= CACHED_CHARS:
        return _fold_remembered(text, words)
    return _fold(text, words)


@functools.lru_cache(maxsize=CACHED_TEXTS)
def _fold_remembered(text: str, words: frozenset[str]) -> str:
    return _fold(text, words)


def _fold(text: str, words: frozenset[str]) -> str:
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
    """One piece of `fold`; `budget` holds how many letters may still be cut into words."""
    budget = [MAX_SEGMENTED] if budget is None else budget
    text = wordbreaks.camel_case_parted(markup.read(text))
    if text.isascii():
        folded = text.lower()
    else:
        if _BEFORE_NFKC_CHARS.search(text):
            text = text.translate(_BEFORE_NFKC)
        normal = unicodedata.normalize("NFKC", text)
        folded = normal.casefold()
        try:
            encoded = folded.encode("cp1252")
        except UnicodeEncodeError:
            if _holds_upper(normal):
                folded = _UPPER_READ(normal).casefold()
            folded = _uncommon_read(folded, words)
        else:
            # Most Western text: the table changes only its soft hyphens, its accented
            # letters are counted as bytes, and four of them are foreign (`å ý š ž`).
            if any(c in folded for c in _TABLE_CP1252):
                folded = _TABLE_READ(folded)
            accented = len(encoded) - len(encoded.translate(None, _ACCENTED_CP1252))
            foreign = any(c in folded for c in _FOREIGN_CP1252)
            folded = _accents_read(folded, accented, foreign)
    folded = _undoubled(folded)
    folded = _spaced_read(folded, words, budget)
    if words:
        folded = wordbreaks.hashtags_cut(wordbreaks.marks_joined(folded, words), words, budget)
    if any(hint in folded for hint in _SYMBOL_HINTS):
        read = _SYMBOLS.sub(_symbol, folded)
        # Symbols beside symbols (`|<!|_|_`) are read once their neighbours are letters.
        folded = _SYMBOLS.sub(_symbol, read) if read != folded else read
    hint = _LEET_HINT.search(folded)
    if hint is not None:
        changed = [0]
        folded = _unleet_near(folded, hint, changed, _NUMBER_AND_LETTERS)
        if changed[0] >= 2:
            # A l33t text: what looked like names and lone digits are l33t too.
            if "!" in folded:
                folded = _FIRST_BANG.sub("i", folded)
            hint = _LEET_HINT.search(folded)
            folded = _unleet_near(folded, hint, changed, _UNIT_NUMBER)
            folded = _LONE_DIGIT.sub(lambda match: match[0].translate(_LEET), folded)
    starts = _stretched_starts(folded)
    if starts:
        folded = _near(folded, starts, lambda part: _unstretched(part, words))
    return folded


# Three of one letter in a row, and the runs of a word. `re` tries the first at every
# position (about 20 µs a KB): past `_VECTOR_CHARS`, numpy compares the text's code points
# with themselves shifted, about 1.3 µs a KB.
_STRETCHED: Final = re.compile(r"([a-z])\1\1")
_VECTOR_CHARS: Final = 512
_A: Final = np.uint32(ord("a"))
_LETTERS_A_Z: Final = np.uint32(26)
_RUNS: Final = re.compile(r"([a-z])\1\1+")
_LATIN_WORD: Final = re.compile(r"[a-z]+")
# Three consonants, no more, inside a word are German spelling (`schifffahrt`).
_CONSONANTS: Final = frozenset("bcdfghjklmnpqrstvwxz")
# Runs of one word tried two ways each (2**3 spellings at most); the others read as one.
_RUNS_TRIED: Final = 3
# A longer word is no word of `words` however read: its runs are read as one letter.
_LONGEST_WORD: Final = 40


def _unstretched(part: str, words: frozenset[str]) -> str:
    """`part` (words between two spaces) with each stretched word read (step 7)."""
    return _LATIN_WORD.sub(
        lambda match: _unstretch(match[0], words) if _STRETCHED.search(match[0]) else match[0],
        part,
    )


# A word written with every letter twice (`ssaarriinn`, `kkiillll`): no word of the
# languages read is, from six letters up, unless it is one letter stretched (`kkkkkk`,
# laughter); four are too few (`EEUU`, `RRHH`, `WWII`). Where two such words stand in a
# piece, its shorter doubled words (`ttoo`, `ii`) are read once too.
_DOUBLED: Final = re.compile(r"(?<![^\W\d_])(?:([^\W\d_])\1)+(?![^\W\d_])")
_DOUBLED_LETTERS: Final = 6
_THREE_PAIRS: Final = re.compile(r"([a-z])\1([a-z])\2([a-z])\3")


def _undoubled(folded: str) -> str:
    """`folded` with its words written with every letter twice read with each once."""
    # Such a word holds three pairs of letters in a row (`ssaarr`), which prose seldom does:
    # looked for first, by numpy past `_VECTOR_CHARS` (about 1 µs a KB), else by `re` (2 µs
    # a turn). `_DOUBLED`, with its Unicode classes, costs about 35 µs a KB.
    if len(folded) >= _VECTOR_CHARS:
        codes = np.frombuffer(folded.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
        # Pairs of one small letter a-z (`....`, `!!!!` and spaces are no pair), the first
        # two of different letters (`nooooo` is stretched).
        pairs = (codes[1:] == codes[:-1]) & (codes[:-1] - _A < _LETTERS_A_Z)
        three = pairs[:-4] & pairs[2:-2] & pairs[4:] & (codes[:-5] != codes[2:-3])
        if not three.any():
            return folded
    elif _THREE_PAIRS.search(folded) is None:
        return folded
    doubled = [m[0] for m in _DOUBLED.finditer(folded) if _spelt_twice(m[0], _DOUBLED_LETTERS)]
    if not doubled:
        return folded
    shortest = 2 if len(doubled) >= 2 else _DOUBLED_LETTERS
    return _DOUBLED.sub(lambda m: m[0][::2] if _spelt_twice(m[0], shortest) else m[0], folded)


def _spelt_twice(word: str, shortest: int) -> bool:
    """Whether `word` (every letter twice) is that long and not one letter stretched (a
    letter alone twice, `ii`, is that letter)."""
    return len(word) >= shortest and (len(word) == 2 or word.count(word[0]) < len(word))


def _stretched_starts(folded: str) -> list[int]:
    """Positions, sorted, within every run of three or more of one letter (`a` to `z`) in
    `folded`: its start, and more for a longer run."""
    if len(folded) < _VECTOR_CHARS:
        return [match.start() for match in _STRETCHED.finditer(folded)]
    codes = np.frombuffer(folded.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
    middle = codes[1:-1]
    runs = (codes[:-2] == middle) & (middle == codes[2:]) & (middle - _A < _LETTERS_A_Z)
    starts: list[int] = np.flatnonzero(runs).tolist()
    return starts


@functools.lru_cache(maxsize=1024)
def _unstretch(word: str, words: frozenset[str]) -> str:
    """`word` (letters `a` to `z`, holding a run of three or more of one) read (step 7)."""
    if word in words or len(word) == 3:
        return word  # a word of `words`, or three letters alone (`www`, `iii`)
    if len(word) > _LONGEST_WORD:
        return _RUNS.sub(r"\1", word)
    runs = list(_RUNS.finditer(word))
    # Every way to keep two or one of each run, two first: the first in `words`.
    for kept in itertools.product((2, 1), repeat=min(len(runs), _RUNS_TRIED)):
        spelled = _respelled(word, runs, [*kept, *[1] * (len(runs) - len(kept))])
        if spelled in words:
            return spelled
    compound = [
        len(run[0]) == 3 and run[1] in _CONSONANTS and 0 < run.start() < run.end() < len(word)
        for run in runs
    ]
    return _respelled(word, runs, [3 if kept else 1 for kept in compound])


def _respelled(word: str, runs: list[re.Match[str]], kept: list[int]) -> str:
    """`word` with `kept[i]` letters of its `runs[i]`."""
    out, done = [], 0
    for run, count in zip(runs, kept, strict=True):
        out += [word[done : run.start()], run[1] * count]
        done = run.end()
    out.append(word[done:])
    return "".join(out)


def _unleet_near(
    folded: str, hint: re.Match[str] | None, changed: list[int], numbers: re.Pattern[str]
) -> str:
    """`folded` with its l33t words read (`_WORD`; `numbers` are words left as written),
    looking only at the words around each hint (`_LEET_HINT`, the first given): every word
    `_WORD` reads holds one, and the word regex, tried at every position, costs about
    100 ns a character."""
    return _near_hits(
        folded,
        hint,
        _LEET_HINT,
        lambda words: _WORD.sub(lambda match: _unleet(match, changed, numbers), words),
    )


def _near_hits(
    folded: str,
    hit: re.Match[str] | None,
    hits: re.Pattern[str],
    change: Callable[[str], str],
) -> str:
    """`folded` with `change` applied to the words between the spaces around each match of
    `hits` (`hit`, the first, given): a word never holds a space."""
    out: list[str] = []
    done = 0
    while hit is not None:
        done = _changed_around(folded, hit.start(), done, change, out)
        hit = hits.search(folded, done)
    out.append(folded[done:])
    return "".join(out)


def _near(folded: str, starts: list[int], change: Callable[[str], str]) -> str:
    """`folded` with `change` applied to the words between the spaces around each of
    `starts` (sorted positions), as `_near_hits` does around matches."""
    out: list[str] = []
    done = 0
    for start in starts:
        if start >= done:
            done = _changed_around(folded, start, done, change, out)
    out.append(folded[done:])
    return "".join(out)


def _changed_around(
    folded: str, start: int, done: int, change: Callable[[str], str], out: list[str]
) -> int:
    """Append to `out` `folded` from `done` up to the word holding `start`, then that word
    (between spaces) changed; return where it ends."""
    first = folded.rfind(" ", done, start) + 1 or done
    last = folded.find(" ", start + 1)
    last = len(folded) if last < 0 else last
    out += [folded[done:first], change(folded[first:last])]
    return last


# A word holding an accent no language read writes (`śárín`, `ḿý`) is read without its
# accents; so is a text whose letters are mostly accented (`lookalikes.STREWN_SHARE`).
_FOREIGN_ACCENT: Final = re.compile(lookalikes.FOREIGN_ACCENTED)
_ACCENTED: Final = re.compile(lookalikes.ACCENTED)
_ACCENTED_WORD: Final = re.compile(rf"(?<!\w)(?=\w{{0,39}}{lookalikes.ACCENTED})\w{{1,40}}")
_PLAIN: Final = str.maketrans(lookalikes.PLAIN_LETTERS)
_PLAIN_READ: Final = lookalikes.Translation(_PLAIN)
_ACCENTED_CP1252: Final = bytes(
    chr(c).encode("cp1252")[0] for c in lookalikes.PLAIN_LETTERS if _in_cp1252(chr(c))
)
# The foreign accents of Windows-1252 (`å ý š ž`): a text of that code page is checked for
# them alone.
_FOREIGN_CP1252: Final = "".join(
    c for c in map(chr, lookalikes.PLAIN_LETTERS) if _FOREIGN_ACCENT.fullmatch(c) and _in_cp1252(c)
)
_PICTOGRAPH: Final = re.compile(f"[{lookalikes.PICTOGRAPHS}]")
# Runs written `[c][c]*` rather than `[c]+`: `re` then skips to the first character at C
# speed (2.5 times quicker here). Any run outside the plane is taken (one range tests
# quickly): `_pictographs_read` sorts them.
_BMP_RUN: Final = f"[{lookalikes.BMP_PICTOGRAPHS}]"
_BMP_PICTOGRAPHS: Final = re.compile(f"{_BMP_RUN}{_BMP_RUN}*")
_ASTRAL_RUN: Final = f"[\U00010000-\U0010ffff{lookalikes.BMP_PICTOGRAPHS}]"
_ASTRAL_OR_PICTOGRAPHS: Final = re.compile(f"{_ASTRAL_RUN}{_ASTRAL_RUN}*")
_SINGLE_LETTER_BEFORE: Final = re.compile(r"(?<![^\W_])[^\W\d_] \Z")
_SINGLE_LETTER_AFTER: Final = re.compile(r" [^\W\d_](?![^\W_])")
_LETTER: Final = re.compile(r"[^\W\d_]")


def _pictographs_read(match: re.Match[str]) -> str:
    """A run of pictographs and characters the table changes, outside the Basic Multilingual
    Plane: the table's changes made; pictographs glued between two letters removed, and
    between two single letters and spaces (`s 🔥 a 🔥 r`) read as a separator (`·`).
    Checked here: a pattern that starts with their class is searched for at C speed, one
    with a lookbehind is not."""
    run = match[0].translate(_TABLE)
    if not _PICTOGRAPH.search(run):
        return run
    start, end = match.span()
    text = match.string
    if start and _LETTER.match(text, start - 1) and _LETTER.match(text, end):
        return ""
    spaced = _SINGLE_LETTER_BEFORE.search(text, max(0, start - 3), start)
    if spaced and _SINGLE_LETTER_AFTER.match(text, end):
        return "·"
    return run


def _uncommon_read(folded: str, words: frozenset[str]) -> str:
    """Step 3 for a text outside Windows-1252 (other scripts, pictographs, look-alikes)."""
    held, accented = _census(folded)
    if held & _IS_TABLE:
        folded = _TABLE_READ(_upright(folded, words))
        held, accented = _census(folded)
    if held & (_IS_PICTOGRAPH | _IS_ASTRAL):
        pictographs = _ASTRAL_OR_PICTOGRAPHS if held & _IS_ASTRAL else _BMP_PICTOGRAPHS
        read = pictographs.sub(_pictographs_read, folded)
        if read != folded:
            folded = read
            held, accented = _census(folded)
    return _accents_read(folded, accented, foreign=bool(held & _IS_FOREIGN))


# Classes of characters, a bit each, that the steps look for: past `lookalikes.VECTOR_CHARS`
# one pass of numpy over a text's code points (about 1.5 µs a KB) finds which a text holds,
# where `re` searches a class in 3 to 5 µs a KB: letters and digits (`[^\W_]`, which is
# `str.isalnum`), characters of the table in the Basic Multilingual Plane (`_TABLE_CHARS`),
# accented letters, foreign ones, pictographs of the plane, characters past it, upper-case
# look-alikes (`_UPPER_CHARS`). No letter or digit is assigned past plane 3 (4 to 13 are
# empty, 14 holds tags and selectors, 15 and 16 private use): a code point past the array
# is read as its last one, U+3FFFF, a character past the plane and nothing else.
_IS_ALNUM, _IS_TABLE, _IS_ACCENTED, _IS_FOREIGN, _IS_PICTOGRAPH, _IS_ASTRAL, _IS_UPPER = (
    1 << bit for bit in range(7)
)
_CLASSES_END: Final = 0x40000
_CLASSES: Final = np.fromiter(map(str.isalnum, map(chr, range(_CLASSES_END))), np.uint8)
_CLASSES[[code for code in _TABLE if code <= 0xFFFF]] |= _IS_TABLE
_CLASSES[list(lookalikes.PLAIN_LETTERS)] |= _IS_ACCENTED
_CLASSES[[c for c in lookalikes.PLAIN_LETTERS if _FOREIGN_ACCENT.fullmatch(chr(c))]] |= _IS_FOREIGN
_CLASSES[[m.start() for m in re.finditer(_BMP_RUN, "".join(map(chr, range(0x10000))))]] |= (
    _IS_PICTOGRAPH
)
_CLASSES[0x10000:] |= _IS_ASTRAL
_CLASSES[list(map(ord, lookalikes.UPPER_CONFUSABLES))] |= _IS_UPPER


def _classes(text: str) -> npt.NDArray[np.uint8]:
    """The classes (`_CLASSES`) of each of `text`'s characters."""
    return _CLASSES.take(lookalikes.code_points(text), mode="clip")


def _census(text: str) -> tuple[int, int]:
    """The classes (`_CLASSES`) `text`'s characters hold, and how many are accented letters.
    A short text is searched by `re` for characters of the table and past the plane only:
    it is taken to hold foreign accents and pictographs, which the steps after look for."""
    if len(text) >= lookalikes.VECTOR_CHARS:
        classes = _classes(text)
        return int(np.bitwise_or.reduce(classes)), int(np.count_nonzero(classes & _IS_ACCENTED))
    held = _IS_FOREIGN | _IS_PICTOGRAPH
    if _TABLE_CHARS.search(text):
        held |= _IS_TABLE
    if len(text.encode("utf-16-le", "surrogatepass")) > 2 * len(text):
        held |= _IS_ASTRAL
    return held, len(_ACCENTED.findall(text))


def _holds_upper(normal: str) -> bool:
    """Whether `normal` (before case folding) holds an upper-case look-alike."""
    if len(normal) >= lookalikes.VECTOR_CHARS:
        return bool(np.bitwise_or.reduce(_classes(normal)) & _IS_UPPER)
    return _UPPER_CHARS.search(normal) is not None


# Upside-down writing: turned letters for most letters (`ɐ ǝ ɹ ʇ ɾ`) and `u n d p b q` for
# one another (`ʞᴉll ɯʎsǝlɟ`, `qoɯq`), the whole often reversed so that it reads turned
# over. A text whose letters are turned for this share or more (about 60% in upside-down
# English; a few turned words are enough to hide a request) is read back, word by word with
# `words` (`_words_upright`), and reversed when more of its words are then words of
# `words`.
# (`ɔ` is left out of the count: it is the open o of IPA and of West African languages.)
_TURNED: Final = re.compile("[ɐǝɹʇɯɥʞʍʎɟƃᴉʌɾ]")
_TURNED_SHARE: Final = 0.15
_UPRIGHT: Final = str.maketrans("undpbqɾ˙¿¡", "nupdqbj.?!")
_WORD_LETTERS: Final = re.compile(r"[^\W\d_]+")


def _upright(folded: str, words: frozenset[str]) -> str:
    """`folded` turned back upright when it is upside-down writing (see `_TURNED`)."""
    turned = len(_TURNED.findall(folded))
    if turned < 3 or turned < _TURNED_SHARE * sum(map(str.isalpha, folded)):
        return folded
    ahead, back = (_words_upright(text, words) for text in (folded, folded[::-1]))
    return back if _known(back, words) > _known(ahead, words) else ahead


def _words_upright(text: str, words: frozenset[str]) -> str:
    """`text`'s words read upright (see `_TURNED`): a word that is a word of `words` only
    upright, or only as written, is read so; of the others, those holding a turned letter
    are read upright, and those that are no word either way too when more of the text's
    words are words upright than as written."""
    found: set[str] = set(_WORD_LETTERS.findall(text))
    upright = {word: word.translate(_UPRIGHT) for word in found}

    def known(word: str) -> bool:
        return word.translate(_TABLE) in words

    throughout = sum(map(known, upright.values())) > sum(map(known, upright))

    def word_upright(match: re.Match[str]) -> str:
        word: str = match[0]
        turned = upright[word]
        if turned == word:
            return word
        if known(word) != known(turned):
            return turned if known(turned) else word
        if _TURNED.search(word):
            return turned
        return turned if throughout and not known(word) else word

    return _WORD_LETTERS.sub(word_upright, text)


def _known(text: str, words: frozenset[str]) -> int:
    """How many of `text`'s words, look-alikes read, are words of `words`."""
    return sum(word in words for word in _TABLE_READ(text).split())


def _accents_read(folded: str, accented: int, foreign: bool) -> str:
    """`folded`, holding `accented` accented letters, read without the accents strewn over
    it as a trick: all of them when they are most of its letters or a word holds two
    (`_MISSPELT`), else those of the words holding a foreign accent (looked for when
    `foreign`)."""
    if _strewn(accented, folded) or (accented >= 2 and _MISSPELT.search(folded)):
        return _PLAIN_READ(folded)
    hit = _FOREIGN_ACCENT.search(folded) if foreign else None
    if hit is None:
        return folded
    plain = functools.partial(_ACCENTED_WORD.sub, lambda match: match[0].translate(_PLAIN))
    return _near_hits(folded, hit, _FOREIGN_ACCENT, plain)


# A word holding two acute accents, one of them on `a i o u`: Spanish, Portuguese and Dutch
# write one a word, French, German and Italian none on those letters (`pólicé`, `kíllá`;
# `été`, `después` and `één` are words). Of 52,000 training, evaluation and independent
# texts, one holds one (Dutch stress, `vóór`, read `voor`): its accents were strewn.
# Such a word holds two of them in a row (other letters between) that are not two `é`:
# the pattern looks from each only to the next, so the search is linear (looking on to the
# word's end from each took seconds on 15,000 letters), and it starts with one class, which
# `re` skips to at C speed (tried at every position, it cost 14 µs a KB of prose).
_ACUTE = "áéíóú"
_MISSPELT: Final = re.compile(
    rf"[{_ACUTE}](?:(?<=é)[^\W\d_{_ACUTE}]*[áíóú]|(?<!é)[^\W\d_{_ACUTE}]*[{_ACUTE}])"
)


def _strewn(accented: int, folded: str) -> bool:
    """Whether `accented` letters are strewn over `folded` (`lookalikes.STREWN_SHARE`)."""
    if accented < lookalikes.STREWN_LETTERS:
        return False
    return accented >= lookalikes.STREWN_SHARE * (len(folded) - folded.count(" "))


def _unspace(run: str, words: frozenset[str], budget: list[int]) -> str:
    """A run of spaced-out letters as the words it spells (see the module's doc, step 4)."""
    letters = _LETTERS.findall(run)
    gaps = _LETTERS.split(run)[1:-1]
    if "".join(letters).isdigit():
        return run  # numbers: `1.2.3`, `1, 2, 3`
    if len(letters) == _SHORT_RUN and (letters[0].isdigit() or letters[-1].isdigit()):
        return run  # a number among short words: `il y a 3 ans`, `de 2 a 3 días`
    # Of the separators, only the space, the tab and line breaks are blank.
    spaced = [not _BLANK.isdisjoint(gap) for gap in gaps]
    lines = ["\n" in gap for gap in gaps]
    widths = [len(gap) for gap in gaps]
    if 0 < 2 * sum(lines) < len(lines):
        # Words one a line (`h o w\nt o`, `h ✨ o ✨ w\nt ✨ o`); when most separators are
        # line breaks, they stand inside words (`m\na\nk\ne s\na\nr\ni\nn`).
        breaks = lines
    elif any(spaced) and not all(spaced):
        # Marks inside words, spaces between them (`h.o.w t.o`, `h-o-w / t_o`, `r*a*y, m e`).
        breaks = spaced
    elif len(set(widths)) > 1:
        # Separators of several widths: the width between most letters stands inside
        # words, the others between them (`h o w  t o`, `h  o  w t  o`); words have more
        # letters than there are words. Of equally common widths, the shortest is inside.
        inner = max(set(widths), key=lambda width: (widths.count(width), -width))
        breaks = [width != inner for width in widths]
    else:
        breaks = [False] * len(gaps)
    # Breaks without punctuation part words (`h o w  t o`, `h-o-w / t-o`); breaks that are
    # all punctuation (`. `, ` , `) part phrases, each spaced out with one separator
    # throughout (`i w a n t . i t h u r t s`).
    words_between = any(
        broken and _PHRASE_MARKS.isdisjoint(gap) for gap, broken in zip(gaps, breaks, strict=True)
    )
    parts: list[str] = []
    start = 0
    for i, broken in enumerate([*breaks, True]):
        if broken:
            part = _spelled(letters[start : i + 1], gaps[start:i], words, budget, words_between)
            parts.append(part)
            start = i + 1
    if any(breaks) and len(parts) > 1:
        parts = _glue_letters(parts, words, budget)
    spelled = " ".join(parts)
    # Abbreviations (`e.g. i.e.`, `y a à`): nothing spelled out is longer than 2 letters,
    # or 3 accented ones. A long run with one separator throughout is no abbreviation: the
    # vocabulary lacks its word (`f l ü c h t l i n g s h e i m`), read as one.
    longest = max(map(len, spelled.split(" ")))
    if longest > 3 or (longest == 3 and spelled.isascii()):
        return spelled
    return "".join(letters) if len(letters) >= _ONE_WORD_RUN and not any(breaks) else run


def _spaced_read(folded: str, words: frozenset[str], budget: list[int]) -> str:
    """`folded` with its runs of spaced-out letters read (`_SPACED`, `_unspace`)."""
    text = " " + folded  # a run may start the text
    out: list[str] = []
    done = 0
    for start, end in _spaced_spans(text):
        for match in _SPACED.finditer(text, max(start, done), end):
            out += [text[done : match.start()], match[1], _unspace(match[2], words, budget)]
            done = match.end()
    if not out:
        return folded
    out.append(text[done:])
    return "".join(out)[1:]


def _spaced_spans(text: str) -> list[tuple[int, int]]:
    """Spans of `text`, sorted and apart, that hold every match of `_SPACED`: from the
    separator before a letter or digit standing alone (no letter or digit either side)
    to the character after another, with one or more such letters between, each
    `_SPACED_REACH` or less from the one before. (A match's letters stand alone, and only
    separators stand between two, so it lies within one such span; the character after
    the span is no letter of it, and `_SPACED`'s look-ahead reads up to that character.)"""
    if len(text) < lookalikes.VECTOR_CHARS:
        return [(0, len(text))]
    alnum = (_classes(text) & _IS_ALNUM).astype(np.bool_)
    alone = alnum.copy()
    alone[1:] &= ~alnum[:-1]
    alone[:-1] &= ~alnum[1:]
    at = np.flatnonzero(alone)
    # Of each chain of letters alone, each near the one before, the first and the last:
    # chains of three or more may hold a run.
    near = np.diff(at) <= _SPACED_REACH
    edges = np.diff(near.astype(np.int8), prepend=0, append=0)
    firsts, lasts = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
    long_chains = lasts - firsts >= 2
    return [
        (first - 1, min(last + 2, len(text)))
        for first, last in zip(
            at[firsts[long_chains]].tolist(), at[lasts[long_chains]].tolist(), strict=True
        )
    ]


def _inner_gap(gaps: list[str]) -> str:
    """The separator that comes back most often between letters (the shortest of equally
    common ones): the one inside words."""
    return max(set(gaps), key=lambda gap: (gaps.count(gap), -len(gap)))


def _glue_letters(parts: list[str], words: frozenset[str], budget: list[int]) -> list[str]:
    """Single letters in a row among spelled-out words are words spaced out with the
    separator that breaks the others (`h.o.w b o m b a`, `t o`): glued, cut into `words`."""
    out: list[str] = []
    row: list[str] = []
    for part in [*parts, ""]:
        if len(part) == 1:
            row.append(part)
            continue
        if len(row) > 1:
            out.append(_spelled(row, [" "] * (len(row) - 1), words, budget, part=False))
        else:
            out += row
        row = []
        if part:
            out.append(part)
    return out


def _spelled(
    letters: list[str], gaps: list[str], words: frozenset[str], budget: list[int], part: bool
) -> str:
    """Letters and the separators between them as words: the most common separator (the
    shortest of equally common ones) joins letters, the others break words; one separator
    throughout joins all, cut back into `words` when long (a phrase), or when as long as a
    word and covered by words (`killmyself`); a `part` of a run with word breaks (as long
    as a word) is one word."""
    if len(set(gaps)) > 1:
        inner = _inner_gap(gaps)
        out = [letters[0]]
        for gap, letter in zip(gaps, letters[1:], strict=True):
            out.append(letter if gap == inner else " " + letter)
        return "".join(out)
    joined = "".join(letters)
    if not words or budget[0] < len(joined) or len(joined) < 3:
        return joined
    budget[0] -= len(joined)
    spelled, covered = segment(joined, words)
    pieces = spelled.split(" ")
    if len(joined) > _ONE_WORD_LETTERS:
        # A phrase: cut into the words that cover it, unknown letters left glued; unless
        # words of three letters or more cover less than half of it: one long word the
        # vocabulary lacks, cut into fragments (`flü ch tl in gs unter kun ft`).
        found = sum(len(piece) for piece in pieces if len(piece) > 2 and piece in words)
        return spelled if 2 * found >= len(joined) else joined
    # As long as a word: one, unless known words cover it with no letter left over inside
    # (`killmyself`, `iwanttodie`; not `ando` as `and o`).
    return spelled if not part and covered and min(map(len, pieces[1:]), default=2) > 1 else joined
