"""Settings errors as sentences naming the setting, in place of the validator's own words."""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterable
from typing import Any

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

# Settings whose values are never quoted back: they are credentials.
_SECRET_PARTS = ("token", "api_key")


def _n(value: Any) -> Any:
    """A bound as a person writes it: 0, not 0.0."""
    return int(value) if isinstance(value, float) and value.is_integer() else value


def _quoted(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _given(key: str, value: Any) -> str:
    """`, not X` for a short scalar input; nothing for secrets and nested values."""
    if any(part in key for part in _SECRET_PARTS) or isinstance(value, dict | list):
        return ""
    return f", not {_quoted(value)}"


def _unknown(key: str, fields: Iterable[str]) -> str:
    name = key.rsplit(".", 1)[-1]
    close = difflib.get_close_matches(name, list(fields), n=1)
    hint = f" (did you mean {close[0]}?)" if close else ""
    return f"{key}: not a setting{hint}"


_SENTENCES: dict[str, Callable[[dict[str, Any]], str]] = {
    "greater_than_equal": lambda ctx: f"must be at least {_n(ctx['ge'])}",
    "greater_than": lambda ctx: f"must be more than {_n(ctx['gt'])}",
    "less_than_equal": lambda ctx: f"must be at most {_n(ctx['le'])}",
    "less_than": lambda ctx: f"must be less than {_n(ctx['lt'])}",
    "literal_error": lambda ctx: f"must be one of {ctx['expected'].replace(' or ', ', ')}",
    "int_parsing": lambda _ctx: "must be a whole number",
    "int_type": lambda _ctx: "must be a whole number",
    "int_from_float": lambda _ctx: "must be a whole number",
    "float_parsing": lambda _ctx: "must be a number",
    "float_type": lambda _ctx: "must be a number",
    "bool_parsing": lambda _ctx: "must be true or false",
    "bool_type": lambda _ctx: "must be true or false",
    "string_type": lambda _ctx: "must be text",
    "string_too_short": lambda ctx: f"must be at least {ctx['min_length']} characters long",
    "string_too_long": lambda ctx: f"must be at most {ctx['max_length']} characters long",
    "dict_type": lambda _ctx: "must be a mapping (key: value)",
    "model_type": lambda _ctx: "must be a section of settings (key: value)",
    "list_type": lambda _ctx: "must be a list",
    "missing": lambda _ctx: "is required",
}


def _sentence(err: ErrorDetails, fields: Callable[[tuple[Any, ...]], Iterable[str]]) -> str:
    loc = tuple(err["loc"])
    key = ".".join(str(part) for part in loc) or "settings"
    kind = err["type"]
    if kind == "extra_forbidden":
        return _unknown(key, fields(loc[:-1]))
    if kind == "value_error":
        message = err["msg"].removeprefix("Value error, ")
        return f"{key}: {message}" if loc else message
    render = _SENTENCES.get(kind)
    if render is None:
        message = err["msg"]
        return f"{key}: {message[:1].lower()}{message[1:]}"
    sentence = render(dict(err.get("ctx") or {}))
    return f"{key}: {sentence}{'' if kind == 'missing' else _given(key, err['input'])}"


def _fields_at(model: type[BaseModel], loc: tuple[Any, ...]) -> Iterable[str]:
    """The field names of the section at `loc` (for a close-match hint)."""
    for part in loc:
        info = model.model_fields.get(str(part))
        nested = getattr(info.annotation, "__args__", None) if info else None
        candidates = [*(nested or ()), info.annotation if info else None]
        found = [c for c in candidates if isinstance(c, type) and issubclass(c, BaseModel)]
        if not found:
            return ()
        model = found[0]
    return model.model_fields


def sentences(exc: ValidationError, model: type[BaseModel]) -> list[str]:
    """One sentence per problem, each starting with the dotted name of its setting."""
    return [_sentence(err, lambda loc: _fields_at(model, loc)) for err in exc.errors()]
