"""The characters folding removes or maps: invisible ones, marks left over, look-alike letters.

Written for text already in NFKC and case-folded (`folding`): fullwidth, circled and
mathematical letters are plain by then, an upper-case Cyrillic `Н` arrives as `н`, and a
letter with an accent it has a precomposed form for is one character.
"""
# ruff: noqa: RUF001, RUF002, RUF003 - look-alike letters are this module's subject.

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping
from typing import Final

import numpy as np
import numpy.typing as npt
from confusable_homoglyphs import utils as confusables_data

# Latin look-alikes, after case folding, beside Unicode's (`unicode_confusables`): letters
# its data leaves out (small capitals, turned letters) or reads otherwise (`ӏ`, `ɯ`).
CONFUSABLES: Final = {
    # Cyrillic
    "а": "a", "в": "b", "е": "e", "ё": "e", "һ": "h", "і": "i", "ї": "i", "ј": "j",
    "к": "k", "ӏ": "l", "м": "m", "н": "h", "о": "o", "р": "p", "с": "c", "ѕ": "s",
    "т": "t", "у": "y", "ү": "y", "х": "x", "ԁ": "d", "ԛ": "q", "ԝ": "w",
    # Greek
    "α": "a", "β": "b", "γ": "y", "ε": "e", "η": "n", "ι": "i", "κ": "k", "ν": "v",
    "ο": "o", "ρ": "p", "τ": "t", "υ": "u", "χ": "x", "ω": "w",
    # Latin letters that only look like others: dotless, IPA, small capitals (NFKC leaves
    # them be: they are letters of their own)
    "ı": "i", "ȷ": "j", "ɡ": "g", "ɑ": "a", "ɩ": "i", "ɪ": "i", "ʏ": "y", "ɛ": "e",
    "ɔ": "c", "ʋ": "u", "ɴ": "n", "ʀ": "r", "ʙ": "b", "ɢ": "g", "ʜ": "h", "ʟ": "l",
    "ᴀ": "a", "ᴄ": "c", "ᴅ": "d", "ᴇ": "e", "ꜰ": "f", "ᴊ": "j", "ᴋ": "k", "ᴍ": "m",
    "ᴏ": "o", "ᴘ": "p", "ǫ": "q", "ꜱ": "s", "ᴛ": "t", "ᴜ": "u", "ᴠ": "v", "ᴡ": "w",
    "ᴢ": "z",
    # Turned letters, as upside-down writing uses them
    "ɐ": "a", "ǝ": "e", "ɹ": "r", "ʇ": "t", "ɯ": "m", "ɥ": "h", "ʞ": "k", "ʍ": "w",
    "ʎ": "y", "ɟ": "f", "ƃ": "g", "ʌ": "v", "ᴉ": "i",
    # Armenian
    "օ": "o", "ս": "u", "ո": "n", "հ": "h", "ց": "g", "զ": "q", "ռ": "n", "ա": "w",
    # Cherokee, as case folding leaves it (the capital letters)
    "Ꭺ": "a", "Ᏼ": "b", "Ꮯ": "c", "Ꭰ": "d", "Ꭼ": "e", "Ꮐ": "g", "Ꮋ": "h", "Ꭵ": "i",
    "Ꭻ": "j", "Ꮶ": "k", "Ꮮ": "l", "Ꮇ": "m", "Ꮲ": "p", "Ꮢ": "r", "Ꮪ": "s", "Ꭲ": "t",
    "Ꮩ": "v", "Ꮃ": "w", "Ꮓ": "z",
}  # fmt: skip
_LATIN: Final = "abcdefghijklmnopqrstuvwxyz"


def unicode_confusables() -> tuple[dict[str, str], dict[str, str]]:
    """The letters Unicode's confusables data draws like one Latin letter, each to that
    letter, in two tables: upper-case ones of the Basic Multilingual Plane, read before
    case folding (`Η` is an `h`, its small `η` an `n`), and the others, as case folding
    leaves them. Letters NFKC already reads and the letters of Windows-1252 (those of the
    languages read) are left out. The data folds a capital `I` into `l`, as some fonts
    draw them alike: of the letters it gives as an `l`, the upper-case ones and those named
    I (Lisu, Runic, Old Italic) are read `i`."""
    data = confusables_data.load("confusables.json")
    upper: dict[str, str] = {}
    lower: dict[str, str] = {}
    for key in _LATIN.upper() + _LATIN:
        for entry in data.get(key, ()):
            char = entry["c"]
            if not _foreign_letter(char):
                continue
            capital = char.casefold() != char
            named_i = unicodedata.name(char, "").endswith(" I")
            letter = "i" if key == "l" and (capital or named_i) else key.lower()
            if not capital:
                lower.setdefault(char, letter)
            elif ord(char) > 0xFFFF:  # few, and read where they are in no pre-pass
                lower.setdefault(char.casefold(), letter)
            else:
                upper.setdefault(char, letter)
    return upper, lower


def _foreign_letter(char: str) -> bool:
    """Whether `char` is one letter, NFKC leaves it be, and Windows-1252 lacks it."""
    return (
        len(char) == 1
        and unicodedata.category(char).startswith("L")
        and unicodedata.normalize("NFKC", char) == char
        and char.encode("cp1252", errors="replace") == b"?"
    )


UPPER_CONFUSABLES, _LOWER_CONFUSABLES = unicode_confusables()

# Letters drawn as symbols NFKC leaves alone: regional indicators (🇦 to 🇿, two make a
# flag: `🇸🇦🇷`), negative circled and negative squared letters (`🅢🅐🅡`, `🆂🅰🆁`).
SYMBOL_LETTERS: Final = {
    first + i: chr(ord("a") + i) for first in (0x1F1E6, 0x1F150, 0x1F170) for i in range(26)
}
# Tag characters mirror printable ASCII, unseen (U+E0020 to U+E007E): some models read them
# as the letters they mirror, so a request written in them is hidden from a reader that
# drops them. They are read as those letters (`E0041` to `E005A`, the capitals, as small
# ones: the table works on case-folded text).
TAG_LETTERS: Final = {code: chr(code - 0xE0000).lower() for code in range(0xE0020, 0xE007F)}

# Format characters are assigned in planes 0, 1 and 14 only (2 and 3 hold ideographs, 15
# and 16 private use): looking there alone keeps the import quick.
_PLANES_WITH_FORMAT_CHARACTERS = (range(0x20000), range(0xE0000, 0xF0000))
# Invisible characters of other categories (Unicode's default-ignorable code points that
# are not Cf): the combining grapheme joiner, Hangul fillers, Khmer inherent vowels,
# Mongolian variation selectors, variation selectors.
_IGNORABLE: Final = (
    0x034F, 0x115F, 0x1160, 0x17B4, 0x17B5, *range(0x180B, 0x1810), 0x3164,
    *range(0xFE00, 0xFE10), 0xFFA0, *range(0xE0100, 0xE01F0),
)  # fmt: skip
# Combining marks of the blocks that mark Latin, Greek and Cyrillic letters. After NFKC,
# one that is left found no letter to compose with: stacked marks, marks strewn over
# letters (`s̶a̶r̶i̶n̶`). Other scripts' marks are their spelling and stay.
_MARK_BLOCKS: Final = (
    range(0x0300, 0x0370), range(0x1AB0, 0x1B00), range(0x1DC0, 0x1E00),
    range(0x20D0, 0x2100), range(0xFE20, 0xFE30),
)  # fmt: skip


def invisible() -> list[int]:
    """Every code point folding removes: format characters (Unicode category Cf: zero-width
    spaces and joiners, soft hyphens, direction marks), the other default-ignorable ones,
    and the combining marks of `_MARK_BLOCKS`."""
    return [
        *(
            c
            for plane in _PLANES_WITH_FORMAT_CHARACTERS
            for c in plane
            if unicodedata.category(chr(c)) == "Cf"
        ),
        *_IGNORABLE,
        *(c for block in _MARK_BLOCKS for c in block if unicodedata.category(chr(c)) == "Mn"),
    ]


def table() -> dict[int, str | None]:
    """The `str.translate` table of folding's third step: invisible characters removed,
    look-alikes mapped to Latin letters, tag characters read as the ASCII they mirror."""
    return {
        **dict.fromkeys(invisible()),
        **{ord(k): v for k, v in _LOWER_CONFUSABLES.items()},
        **{ord(k): v for k, v in CONFUSABLES.items()},
        **SYMBOL_LETTERS,
        **TAG_LETTERS,
    }


# Below this many characters, a pass of numpy over a text's code points costs more (its
# calls and arrays, about 10 µs) than the character by character work it replaces.
VECTOR_CHARS: Final = 512


def code_points(text: str) -> npt.NDArray[np.uint32]:
    """`text`'s code points (a lone surrogate too), as numpy reads them in one pass."""
    return np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)


def from_code_points(codes: npt.NDArray[np.uint32]) -> str:
    """The text of `codes` (see `code_points`)."""
    return codes.tobytes().decode("utf-32-le", "surrogatepass")


# Marks a code point `Translation` removes; no code point is this large.
_REMOVED: Final = np.uint32(0xFFFFFFFF)
_BMP_END: Final = 0x10000


class Translation:
    """A `str.translate` table whose values are one character or None, applied with numpy
    to a long text: `str.translate` looks each character past the first non-ASCII one up
    in the table's dictionary, raising and clearing a `KeyError` for each one it lacks
    (about 200 µs a KB of text written in another script), against 2 µs a KB here."""

    def __init__(self, table: Mapping[int, str | None]) -> None:
        """`table`, as `str.translate` takes it."""
        self.table: Final = table
        self._bmp = np.arange(_BMP_END, dtype=np.uint32)
        astral: dict[int, int] = {}
        for code, value in table.items():
            new = _REMOVED if value is None else np.uint32(ord(value))
            if code < _BMP_END:
                self._bmp[code] = new
            else:
                astral[code] = int(new)
        self._astral_codes = np.array(sorted(astral), dtype=np.uint32)
        self._astral_values = np.array([astral[code] for code in sorted(astral)], dtype=np.uint32)

    def __call__(self, text: str) -> str:
        """`text.translate(table)`."""
        if len(text) < VECTOR_CHARS:
            return text.translate(self.table)
        codes = code_points(text)
        # Past the plane, `clip` reads the table's last entry: those are looked up apart.
        out = self._bmp.take(codes, mode="clip")
        astral = np.flatnonzero(codes >= _BMP_END)
        if astral.size:
            out[astral] = self._astral(codes[astral])
        return from_code_points(out[out != _REMOVED])

    def _astral(self, codes: npt.NDArray[np.uint32]) -> npt.NDArray[np.uint32]:
        """`codes` (past the Basic Multilingual Plane) translated."""
        if not self._astral_codes.size:
            return codes
        found = np.searchsorted(self._astral_codes, codes).clip(max=self._astral_codes.size - 1)
        return np.where(self._astral_codes[found] == codes, self._astral_values[found], codes)


def ranges(codes: Iterable[int]) -> str:
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


def _accented_latin() -> dict[int, str]:
    """Latin letters with a diacritic (precomposed, lower case), each to its plain letter."""
    out: dict[int, str] = {}
    for code in (*range(0xC0, 0x250), *range(0x1E00, 0x1F00)):
        char = chr(code)
        base = unicodedata.normalize("NFD", char)[0]
        if char != base and base.isascii() and base.isalpha() and char == char.casefold():
            out[code] = base
    return out


# Accents strewn over letters (`hów tó máké śárín`) are read away where no language read
# would write them (`folding`): the letters they are read to, the class of every accented
# letter, and of those the languages read never write (`ś`, `ń`, `ḿ`: Polish, Czech or
# Vietnamese spelling, or a trick; read plain, they lose nothing a detector of the
# languages read needs).
PLAIN_LETTERS: Final = _accented_latin()
ACCENTED: Final = ranges(PLAIN_LETTERS)
_WRITTEN: Final = frozenset("àáâãäçèéêëìíîïñòóôõöùúûüÿ")
FOREIGN_ACCENTED: Final = ranges(c for c in PLAIN_LETTERS if chr(c) not in _WRITTEN)
# A text whose letters are this share accented or more is read without accents: French
# and Spanish prose holds 3 to 6%, and few words hold more than half.
STREWN_SHARE: Final = 0.4
STREWN_LETTERS: Final = 4


# Pictographs (emoji and dingbats) glued between two letters (`ki🔪ll`, `s🔥a🔥r🔥i🔥n`)
# are removed: no word is written with one inside it.
BMP_PICTOGRAPHS: Final = "\u2600-\u27bf\u2b00-\u2bff"
PICTOGRAPHS: Final = BMP_PICTOGRAPHS + "\U0001f000-\U0001faff"
