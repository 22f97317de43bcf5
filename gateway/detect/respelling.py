"""Chat spellings read as the words they stand for: a second reading of a folded turn.

People in distress write fast: `kiero morirme`, `stoy cansado de bibir`, `evry1 wud b beter
off`, `jveux pu vivre`, `ich will nich mehr lebn`. The rule packs are written in the
dictionary's spellings and the model learnt mostly from them, so a turn that holds such
spellings is also read respelled (`Spellings.respell`): the rules scan both readings and
the model scores the pieces of both, each label keeping its best (`judgement`). The first
reading is never replaced: a respelling only adds what the dictionary spelling would have
found.

Letters a keyboard may lack are typed spelled out (German `ae`, `oe`, `ue` for `ä`, `ö`, `ü`:
`ich spring von der bruecke`, `alle waeren besser dran`). The file names them per language
(`spelled_out`), and every word of the rule packs' vocabulary holding such a letter is read
back from its typed form (`Spellings.with_words`).

The spellings are language data, kept beside the rule packs in `rules/spellings.yaml`
(`load_spellings`: a rules folder's own file, else the shipped one): a chat spelling and
its dictionary words, per language. A spelling is one word of letters and digits, listed
only when it is rarely a word of its own in any language the gateway reads (`u`, `k`, `sa`,
`peu`, `ne` are not listed: respelling them would rewrite ordinary text), and matched whole.

Pictographs written for a word (`how do i make a 💣`, `wie baue ich eine 💣`) are read as
it, in the file's `pictographs`: the word of the turn's language (`bomb`, `bombe`, `bomba`,
`bom`), or one word for every language. The turn's language is the one whose
`function_words` (articles, pronouns, prepositions) it holds most, the first listed on a
tie; a turn with none of them is read in the first language of the pictograph's map.

Respelling is linear: one C-speed split of the text into words and one set intersection
decide whether a text holds any spelling (most do not, and cost no more); a text that does
is rewritten by one regular expression over the spellings it holds. Texts longer than a
chat turn (`RESPELL_CHARS`) are not respelled.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Final

import yaml

from gateway import yaml_text
from gateway.detect.folding import fold
from gateway.detect.wordbreaks import words_replaced

FILE_NAME: Final = "spellings.yaml"
# Everything but letters and digits parts words, as `_spelled` reads them.
_NOT_WORD: Final = re.compile(r"[\W_]+")
# The words of a text in one bytes pass over its UTF-8: ASCII letters and digits kept, the
# other ASCII bytes a space; bytes of other characters are kept, but for the punctuation
# chat puts beside words (`¿q`, `«jveux»`, `bibir…`), which is replaced first.
_ASCII_WORDS: Final = bytes(c if c >= 128 or chr(c).isalnum() else 32 for c in range(256))
_PUNCTUATION: Final = tuple(
    mark.encode() for mark in "\u00bf\u00a1\u00ab\u00bb\u2026\u2018\u2019\u201c\u201d\u2013\u2014"
)
_SPACES: Final = re.compile(" {2,}")
# Chat spellings are a chat turn's: a longer text (a document, a pasted log) is read as
# written only, so a spelling somewhere in a megabyte does not make it read twice.
RESPELL_CHARS: Final = 4096


class Spellings:
    """Chat spellings and their dictionary words, by language, ready to respell folded text;
    `version` is a hash of their source."""

    def __init__(
        self,
        by_language: Mapping[str, Mapping[str, str]],
        version: str = "",
        spelled_out: Mapping[str, Mapping[str, str]] | None = None,
        read_back: int = 0,
        *,
        pictographs: Mapping[str, str | Mapping[str, str]] | None = None,
        function_words: Mapping[str, Iterable[str]] | None = None,
    ) -> None:
        self.by_language = {lang: dict(table) for lang, table in by_language.items()}
        self.pictographs = {
            fold(picture): {"": words} if isinstance(words, str) else dict(words)
            for picture, words in (pictographs or {}).items()
        }
        """Pictographs written for a word, as folding leaves them, each with its word per
        language (`💣`: `{"en": "bomb", "fr": "bombe", ...}`; `""` for every language)."""
        self.function_words = {
            lang: frozenset(fold(word) for word in words)
            for lang, words in (function_words or {}).items()
        }
        """Per language, the short words that tell a turn's language (`the`, `une`, `ich`)."""
        self._pictured = (
            re.compile("|".join(map(re.escape, sorted(self.pictographs, key=len, reverse=True))))
            if self.pictographs
            else None
        )
        self.version = version
        self.spelled_out = {lang: dict(table) for lang, table in (spelled_out or {}).items()}
        """Per language, letters a keyboard may lack and how they are typed (`ü`: `ue`)."""
        self.read_back = read_back
        """How many of the spellings are words read back from spelled-out letters."""
        # As folding leaves them (`evry1` is read `evryi`): what a folded turn holds.
        self._words = {
            fold(written): words
            for table in self.by_language.values()
            for written, words in table.items()
        }
        self._keys = frozenset(key.encode() for key in self._words)

    def __len__(self) -> int:
        return len(self._words)

    def with_words(self, words: Iterable[str]) -> Spellings:
        """These spellings, and every word of `words` (casefolded, three letters or more)
        holding a spelled-out letter read back from its typed form (`bruecke`: `brücke`),
        unless the typed form is already a spelling. (German typed forms are never words of
        their own; two-letter words are left out: `dä`, `üs`.)"""
        vocabulary = sorted(frozenset(words))
        tables = {lang: dict(table) for lang, table in self.by_language.items()}
        added = 0
        for lang, letters in self.spelled_out.items():
            table = tables.setdefault(lang, {})
            typing = str.maketrans(letters)
            for word in vocabulary:
                typed = word.translate(typing)
                if typed != word and len(word) > 2 and fold(typed) not in self._words:
                    added += typed not in table
                    table.setdefault(typed, word)
        return Spellings(
            tables,
            self.version,
            self.spelled_out,
            self.read_back + added,
            pictographs=self.pictographs,
            function_words=self.function_words,
        )

    def respell(self, folded: str) -> str | None:
        """`folded` (a folded turn) with its chat spellings and pictographs in dictionary
        words, or None when it holds none or is longer than `RESPELL_CHARS`."""
        if len(folded) > RESPELL_CHARS:
            return None
        pictured = None
        if self._pictured is not None and not folded.isascii():
            language = self.language(folded)
            read = self._pictured.sub(lambda m: f" {self._pictured_word(m[0], language)} ", folded)
            pictured = _SPACES.sub(" ", read).strip() if read != folded else None
        if not self._keys:
            return pictured
        text = pictured or folded
        encoded = text.encode()
        if not text.isascii():
            for mark in _PUNCTUATION:
                if mark in encoded:
                    encoded = encoded.replace(mark, b" ")
        found = self._keys.intersection(encoded.translate(_ASCII_WORDS).split())
        if not found:
            return pictured
        return words_replaced(text, {key.decode(): self._words[key.decode()] for key in found})

    def language(self, folded: str) -> str | None:
        """The language whose function words `folded` holds most (the first listed on a
        tie), or None when it holds none."""
        words = set(folded.split())
        counts = {lang: len(words & own) for lang, own in self.function_words.items()}
        best = max(counts, key=counts.__getitem__, default=None)
        return best if best is not None and counts[best] else None

    def _pictured_word(self, picture: str, language: str | None) -> str:
        """The word `picture` stands for in `language` (None: not known)."""
        words = self.pictographs[picture]
        if language in words:
            return words[language]
        return words.get("", next(iter(words.values())))


NO_SPELLINGS: Final = Spellings({})


def parse_spellings(text: str, where: str) -> Spellings:
    """The spellings of a file's text; ValueError naming `where` and the first fault."""
    try:
        data = yaml_text.safe_load(text)
    except yaml.YAMLError as exc:
        raise ValueError(f"{where}: not valid YAML: {exc}") from None
    tables = data.get("spellings") if isinstance(data, dict) else None
    if not isinstance(tables, dict):
        raise ValueError(f"{where}: needs a `spellings` map of languages")
    spelled_out = data.get("spelled_out", {})
    if not isinstance(spelled_out, dict):
        raise ValueError(f"{where}: `spelled_out` must map languages to letters")
    for lang, letters in spelled_out.items():
        if not isinstance(letters, dict) or not all(
            isinstance(letter, str)
            and len(letter) == 1
            and isinstance(typed, str)
            and typed.isascii()
            and typed.isalpha()
            for letter, typed in letters.items()
        ):
            raise ValueError(
                f"{where}: `spelled_out.{lang}` must map single letters to the ASCII letters "
                "typed for them"
            )
    seen: dict[str, str] = {}
    for lang, table in tables.items():
        if not isinstance(lang, str) or not isinstance(table, dict):
            raise ValueError(f"{where}: `spellings.{lang}` must map spellings to words")
        for written, words in table.items():
            _check(written, words, f"{where}: spellings.{lang}")
            if seen.setdefault(fold(written), words) != words:
                raise ValueError(f"{where}: spellings.{lang}: {written!r} has two readings")
    pictographs = data.get("pictographs", {})
    if not isinstance(pictographs, dict) or not all(
        isinstance(picture, str)
        and fold(picture).strip()
        and not any(c.isalnum() for c in fold(picture))
        and _words_of_languages(words)
        for picture, words in pictographs.items()
    ):
        raise ValueError(
            f"{where}: `pictographs` must map pictographs to the words they stand for (one "
            "word, or a word per language)"
        )
    function_words = data.get("function_words", {})
    if not isinstance(function_words, dict) or not all(
        isinstance(lang, str)
        and isinstance(words, list)
        and words
        and all(isinstance(word, str) and word.strip() for word in words)
        for lang, words in function_words.items()
    ):
        raise ValueError(f"{where}: `function_words` must map languages to lists of words")
    version = hashlib.sha256(text.encode()).hexdigest()[:12]
    return Spellings(
        tables, version, spelled_out, pictographs=pictographs, function_words=function_words
    )


def _words_of_languages(words: object) -> bool:
    """Whether `words` is one word, or a non-empty map of languages to words."""
    if isinstance(words, str):
        return bool(words.strip())
    return (
        isinstance(words, dict)
        and bool(words)
        and all(
            isinstance(lang, str) and isinstance(word, str) and word.strip()
            for lang, word in words.items()
        )
    )


def _check(written: object, words: object, where: str) -> None:
    if not isinstance(written, str) or not isinstance(words, str) or not words.strip():
        raise ValueError(f"{where}: {written!r} must map a spelling to its words")
    folded = fold(written)
    if not folded or _NOT_WORD.search(folded) is not None:
        raise ValueError(f"{where}: {written!r} is not one word of letters and digits")
    if folded == fold(words):
        raise ValueError(f"{where}: {written!r} is spelled as its own words")


def spellings_file(rules_dir: Path, shipped_dir: Path) -> Path | None:
    """The spellings to read for a rules folder: its own file, else the shipped one (None
    when neither exists)."""
    for folder in (rules_dir, shipped_dir):
        if (folder / FILE_NAME).is_file():
            return folder / FILE_NAME
    return None


def load_spellings(rules_dir: Path, shipped_dir: Path) -> Spellings:
    """The spellings for a rules folder (`spellings_file`); ValueError naming the file when it
    cannot be read or holds a fault; none when there is no file."""
    path = spellings_file(rules_dir, shipped_dir)
    if path is None:
        return NO_SPELLINGS
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ValueError(f"{path.name}: cannot be read as UTF-8 text: {exc}") from None
    return parse_spellings(text, path.name)
