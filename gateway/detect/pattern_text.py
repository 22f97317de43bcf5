"""Parsed patterns (`re._parser`) as pattern text again, to name a construct in an error."""

from __future__ import annotations

import re
from collections.abc import Sequence
from re import _constants as sre  # type: ignore[attr-defined]
from typing import Any

_REPEATS = (sre.MAX_REPEAT, sre.MIN_REPEAT, sre.POSSESSIVE_REPEAT)
_CATEGORY_TEXT = {
    sre.CATEGORY_WORD: r"\w",
    sre.CATEGORY_NOT_WORD: r"\W",
    sre.CATEGORY_DIGIT: r"\d",
    sre.CATEGORY_NOT_DIGIT: r"\D",
    sre.CATEGORY_SPACE: r"\s",
    sre.CATEGORY_NOT_SPACE: r"\S",
}
_AT_TEXT = {
    sre.AT_BEGINNING: "^",
    sre.AT_BEGINNING_STRING: r"\A",
    sre.AT_END: "$",
    sre.AT_END_STRING: r"\Z",
    sre.AT_BOUNDARY: r"\b",
    sre.AT_NON_BOUNDARY: r"\B",
}
_SHOW_LIMIT = 80


def show(items: Sequence[tuple[Any, Any]]) -> str:
    """Parsed pattern items as pattern text again (approximately), cut to a readable length."""
    text = "".join(_show_item(op, av) for op, av in items)
    return text if len(text) <= _SHOW_LIMIT else text[: _SHOW_LIMIT - 3] + "..."


def _show_item(op: Any, av: Any) -> str:
    if op is sre.LITERAL:
        return re.escape(chr(av))
    if op is sre.NOT_LITERAL:
        return f"[^{re.escape(chr(av))}]"
    if op is sre.ANY:
        return "."
    if op is sre.IN:
        parts = [_show_class_part(kind, value) for kind, value in av]
        if len(av) == 1 and av[0][0] is sre.CATEGORY:
            return parts[0]
        return "[" + "".join(parts) + "]"
    if op is sre.AT:
        return str(_AT_TEXT.get(av, ""))
    if op is sre.BRANCH:
        return "(?:" + "|".join(show(alt) for alt in av[1]) + ")"
    if op is sre.SUBPATTERN:
        return "(" + ("" if av[0] else "?:") + show(av[-1]) + ")"
    if op is sre.ATOMIC_GROUP:
        return "(?>" + show(av) + ")"
    if op in (sre.ASSERT, sre.ASSERT_NOT):
        sign = {(1, sre.ASSERT): "?=", (1, sre.ASSERT_NOT): "?!"}.get((av[0], op))
        sign = sign or ("?<=" if op is sre.ASSERT else "?<!")
        return f"({sign}{show(av[1])})"
    if op in _REPEATS:
        low, high, body = av
        inner = show(body)
        if len(body) > 1 or body[0][0] in _REPEATS:
            inner = f"(?:{inner})"
        bound = {(0, sre.MAXREPEAT): "*", (1, sre.MAXREPEAT): "+", (0, 1): "?"}.get(
            (low, high), f"{{{low},{'' if high == sre.MAXREPEAT else high}}}"
        )
        suffix = {sre.MIN_REPEAT: "?", sre.POSSESSIVE_REPEAT: "+"}.get(op, "")
        return inner + bound + suffix
    return f"<{op}>"


def _show_class_part(kind: Any, value: Any) -> str:
    if kind is sre.LITERAL:
        return re.escape(chr(value))
    if kind is sre.RANGE:
        return f"{re.escape(chr(value[0]))}-{re.escape(chr(value[1]))}"
    if kind is sre.CATEGORY:
        return _CATEGORY_TEXT.get(value, "?")
    if kind is sre.NEGATE:
        return "^"
    return "?"
