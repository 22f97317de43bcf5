r"""What every match of a pattern starts with: a few short texts, read off the parsed pattern.

A rule's pattern is searched in the windows around its keywords' hits (`windows`); `re`
then tries it at every position of a window, a few hundred nanoseconds each, since a
pattern that opens on `\b` or a lookaround gets none of `re`'s fast skipping. Most rule
patterns open on words (`\b(?:how|where|i want to)...`), so every match starts with one of
a few texts of `STARTS_CHARS` characters at most (`how`, `wher`, `i wa`). An automaton of
those finds the positions where an attempt can succeed, at C speed, and the pattern is
tried there alone: the same matches, for a fraction of the attempts.

The texts are an over-approximation, never an under-one: zero-width items (`\b`,
lookarounds) are skipped, a class of more than `_CLASS_CHARS` characters or a category
ends the text early (`i` then `\W` leaves `i`), and every character stands for all those
`re` matches it to case-insensitively, casefolded. A branch that opens on `^` can match
at the start of the text only, which is then tried too. A pattern with no such texts (one
that opens on `\w` or `.`, or could match the empty text) has none, and is searched at
every position of its windows, as before.
"""
# ruff: noqa: RUF002 - case variants are this module's subject.

from __future__ import annotations

import _sre  # type: ignore[import-not-found]
import functools
import re
from collections.abc import Sequence
from re import _casefix  # type: ignore[attr-defined]
from re import _constants as sre  # type: ignore[attr-defined]
from re import _parser as sre_parse  # type: ignore[attr-defined]
from typing import Any, Final, NamedTuple

# The length of the start texts, at most, and how many one pattern may have: past the
# limit, the texts are cut one character shorter until they fit.
STARTS_CHARS: Final = 4
STARTS_LIMIT: Final = 512
# A class of at most this many characters is read as its characters (`[ée]`, `[sz]`).
_CLASS_CHARS: Final = 8
_REPEATS = (sre.MAX_REPEAT, sre.MIN_REPEAT, sre.POSSESSIVE_REPEAT)
_ZERO_WIDTH = (sre.AT, sre.ASSERT, sre.ASSERT_NOT)
_BEGINNINGS = (sre.AT_BEGINNING, sre.AT_BEGINNING_STRING)


class _TooMany(Exception):
    """More start texts than the limit allows at this length."""


class Starts(NamedTuple):
    """Where a pattern's matches can start: at one of `texts`, or at the text's start when
    `at_start`."""

    texts: frozenset[str]
    at_start: bool


def starts(pattern: str, flags: int) -> Starts | None:
    """Casefolded texts one of which begins every match of `pattern` that does not start
    the text (a match shorter than a text is one of them whole); None when no short list of
    texts does."""
    return _starts(pattern, flags)


@functools.lru_cache(maxsize=4096)
def _starts(pattern: str, flags: int) -> Starts | None:
    parsed = sre_parse.parse(pattern, flags)
    flags = parsed.state.flags
    for length in range(STARTS_CHARS, 0, -1):
        reader = _Reader(length, bool(flags & re.IGNORECASE), bool(flags & re.MULTILINE))
        try:
            found = reader.read(parsed)
        except _TooMany:
            continue
        if "" in found:
            return None
        # A text that begins another stands for both: every position the longer one
        # starts at, the shorter does.
        shortest = {t for t in found if not any(t[:k] in found for k in range(1, len(t)))}
        return Starts(frozenset(shortest), reader.at_start)
    return None


class _Reader:
    """Reads the start texts of `length` characters off a parsed pattern."""

    def __init__(self, length: int, ignore_case: bool, multiline: bool) -> None:
        self.length = length
        self.ignore_case = ignore_case
        self.multiline = multiline
        self.done: set[str] = set()
        self.at_start = False
        """Whether a branch opens on `^`: a match may start the text with anything."""

    def read(self, items: Sequence[tuple[Any, Any]]) -> set[str]:
        """Every start text of the sequence `items`, as a whole pattern."""
        self.done |= self._seq(items, {""})
        return self.done

    def _seq(self, items: Sequence[tuple[Any, Any]], opened: set[str]) -> set[str]:
        """The texts still growing after `items`, from those growing before them; the
        texts that reach the length, or end early, go to `done`."""
        for op, av in items:
            if not opened:
                break
            opened = self._item(op, av, opened)
        return opened

    def _item(self, op: Any, av: Any, opened: set[str]) -> set[str]:
        if op is sre.AT and av in _BEGINNINGS and not self.multiline:
            # Only a path that has read nothing yet gets past `^`, at the text's start.
            self.at_start = self.at_start or "" in opened
            return set()
        if op in _ZERO_WIDTH:
            return opened
        if op is sre.SUBPATTERN:
            return self._group(av, opened)
        if op is sre.ATOMIC_GROUP:
            return self._seq(av, opened)
        if op is sre.BRANCH:
            out: set[str] = set()
            for alternative in av[1]:
                out |= self._seq(alternative, opened)
            return out
        if op in _REPEATS:
            return self._repeat(av, opened)
        chars = self._chars(op, av)
        if chars is None:  # anything at all may come next: the texts end here
            self._end(opened)
            return set()
        grown = {text + c for text in opened for c in chars}
        full = {text for text in grown if len(text) >= self.length}
        self._end({text[: self.length] for text in full})
        return grown - full

    def _group(self, av: Any, opened: set[str]) -> set[str]:
        """A group, read under the flags it adds and removes (`(?m:^)`, `(?-i:x)`)."""
        _, added, removed, items = av
        scope = (self.ignore_case, self.multiline)
        for flag, name in ((re.IGNORECASE, "ignore_case"), (re.MULTILINE, "multiline")):
            if added & flag:
                setattr(self, name, True)
            if removed & flag:
                setattr(self, name, False)
        try:
            return self._seq(items, opened)
        finally:
            self.ignore_case, self.multiline = scope

    def _repeat(self, av: Any, opened: set[str]) -> set[str]:
        low, high, body = av
        # Each pass of the body may consume nothing, so passes are bounded by the length
        # and the texts still growing after them end there (they begin the longer ones).
        passes = self.length + 1
        for _ in range(min(low, passes)):
            opened = self._seq(body, opened)
        if low > passes:
            self._end(opened)
            return set()
        out = set(opened)
        for _ in range(min(high - low, passes)):
            opened = self._seq(body, opened)
            if not opened:
                break
            out |= opened
        else:
            if high - low > passes:
                self._end(opened)
        return out

    def _end(self, texts: set[str]) -> None:
        self.done |= texts
        if len(self.done) > STARTS_LIMIT:
            raise _TooMany

    def _chars(self, op: Any, av: Any) -> set[str] | None:
        """The casefolded characters one item matches; None for a category, anything, a
        negation or a wide class."""
        if op is sre.LITERAL:
            return self._variants(av)
        if op is not sre.IN:
            return None
        out: set[str] = set()
        for kind, value in av:
            if kind is sre.LITERAL:
                out |= self._variants(value)
            elif kind is sre.RANGE and value[1] - value[0] < _CLASS_CHARS:
                for code in range(value[0], value[1] + 1):
                    out |= self._variants(code)
            else:
                return None
        return out if len(out) <= _CLASS_CHARS else None

    def _variants(self, code: int) -> set[str]:
        return set(_case_variants(code)) if self.ignore_case else {chr(code).casefold()}


@functools.lru_cache(maxsize=4096)
def _case_variants(code: int) -> frozenset[str]:
    """Every character `re` matches to `code` case-insensitively, casefolded: those with the
    same simple lower case (`re` lowers one character at a time: `İ` is an `i` to it), and
    the pairs `re` adds (`ı` for `i`, `ſ` for `s`)."""
    lower = _sre.unicode_tolower(code)
    same = {lower, code, *_lowered_to().get(lower, ()), *_casefix._EXTRA_CASES.get(lower, ())}
    return frozenset(chr(c).casefold() for c in same)


# Cased letters are assigned in planes 0 and 1 only.
_CASED_PLANES = range(0x20000)


@functools.cache
def _lowered_to() -> dict[int, list[int]]:
    """For each simple lower case, the characters that lower to it (about 20 ms, once)."""
    out: dict[int, list[int]] = {}
    for code in _CASED_PLANES:
        lower = _sre.unicode_tolower(code)
        if lower != code:
            out.setdefault(lower, []).append(code)
    return out
