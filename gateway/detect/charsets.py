"""Sets of characters, over-approximated, for telling which pattern pieces cannot overlap."""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable
from dataclasses import dataclass
from re import _constants as sre  # type: ignore[attr-defined]
from typing import Any

_CATEGORY_RE = {
    sre.CATEGORY_WORD: re.compile(r"\w"),
    sre.CATEGORY_NOT_WORD: re.compile(r"\W"),
    sre.CATEGORY_DIGIT: re.compile(r"\d"),
    sre.CATEGORY_NOT_DIGIT: re.compile(r"\D"),
    sre.CATEGORY_SPACE: re.compile(r"\s"),
    sre.CATEGORY_NOT_SPACE: re.compile(r"\S"),
}
_DISJOINT_CATEGORIES = {
    frozenset(pair)
    for pair in (
        (sre.CATEGORY_WORD, sre.CATEGORY_NOT_WORD),
        (sre.CATEGORY_WORD, sre.CATEGORY_SPACE),
        (sre.CATEGORY_DIGIT, sre.CATEGORY_NOT_DIGIT),
        (sre.CATEGORY_DIGIT, sre.CATEGORY_NOT_WORD),
        (sre.CATEGORY_DIGIT, sre.CATEGORY_SPACE),
        (sre.CATEGORY_SPACE, sre.CATEGORY_NOT_SPACE),
    )
}
_SMALL_RANGE = 512


@dataclass(frozen=True, slots=True)
class Chars:
    """A set of characters, over-approximated: literal characters, categories, or anything."""

    chars: frozenset[str] = frozenset()
    categories: frozenset[Any] = frozenset()
    anything: bool = False

    def __or__(self, other: Chars) -> Chars:
        return Chars(
            self.chars | other.chars,
            self.categories | other.categories,
            self.anything or other.anything,
        )

    @property
    def empty(self) -> bool:
        """Whether no character belongs to the set."""
        return not (self.chars or self.categories or self.anything)

    def disjoint(self, other: Chars) -> bool:
        """Whether no character can belong to both sets (False when unsure)."""
        if self.empty or other.empty:
            return True
        if self.anything or other.anything or self.chars & other.chars:
            return False
        if _chars_in(self.chars, other.categories) or _chars_in(other.chars, self.categories):
            return False
        return all(
            frozenset((a, b)) in _DISJOINT_CATEGORIES
            for a in self.categories
            for b in other.categories
        )

    @property
    def literal(self) -> bool:
        """Whether the set holds literal characters only (no category, not anything)."""
        return bool(self.chars) and not self.categories and not self.anything


EMPTY = Chars()
ANYTHING = Chars(anything=True)


def _chars_in(chars: Iterable[str], categories: Iterable[Any]) -> bool:
    return any(_CATEGORY_RE[cat].match(c) for cat in categories for c in chars)


@functools.lru_cache(maxsize=4096)
def variants(code: int) -> frozenset[str]:
    """A character and its case variants: patterns are matched case-insensitively."""
    c = chr(code)
    return frozenset((c, c.lower(), c.upper(), c.casefold()))


def charset(op: Any, av: Any) -> Chars:
    """The characters one single-character item can match."""
    if op is sre.LITERAL:
        return Chars(variants(av))
    if op is not sre.IN:
        return ANYTHING
    out = EMPTY
    for kind, value in av:
        if kind is sre.LITERAL:
            out |= Chars(variants(value))
        elif kind is sre.CATEGORY and value in _CATEGORY_RE:
            out |= Chars(categories=frozenset((value,)))
        elif kind is sre.RANGE and value[1] - value[0] <= _SMALL_RANGE:
            for code in range(value[0], value[1] + 1):
                out |= Chars(variants(code))
        else:  # NEGATE, a wide range, an unknown category: anything, to stay on the safe side
            return ANYTHING
    return out
