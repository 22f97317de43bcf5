"""Reading upstream JSON whose shape the gateway does not control, without ever failing.

An upstream may send any JSON at all in a 200: a string where a list belongs, a number for
a stop reason, null for an object. The watchers read every field through `Shapes`: a
field that is absent or null reads as empty, one of another type reads as empty too and
is noted, so that what could not be read is counted rather than raised.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, TypeGuard

from gateway.dialects.base import JSONObject


def is_index(value: Any) -> TypeGuard[int]:
    """Whether `value` is a list index as the APIs send them: an int, not a bool, >= 0."""
    return type(value) is int and value >= 0


class Shapes:
    """Typed reads of one event or body; `odd` says whether a field had the wrong type."""

    __slots__ = ("odd",)

    def __init__(self) -> None:
        self.odd = False

    def obj(self, parent: JSONObject, key: str) -> JSONObject:
        """`parent[key]` when it is an object; else an empty one."""
        value = parent.get(key)
        if isinstance(value, dict):
            return value
        if value is not None:
            self.odd = True
        return {}

    def text(self, parent: JSONObject, key: str) -> str | None:
        """`parent[key]` when it is a string; else None."""
        value = parent.get(key)
        if isinstance(value, str):
            return value
        if value is not None:
            self.odd = True
        return None

    def objects(self, parent: JSONObject, key: str) -> Iterator[JSONObject]:
        """The objects of the list `parent[key]` (anything else in it is noted, skipped)."""
        value = parent.get(key)
        if value is None:
            return
        if not isinstance(value, list):
            self.odd = True
            return
        for item in value:
            if isinstance(item, dict):
                yield item
            else:
                self.odd = True

    def first(self, parent: JSONObject, key: str) -> JSONObject | None:
        """The first item of the list `parent[key]` when it is an object; None if empty."""
        value = parent.get(key)
        if isinstance(value, list):
            if not value:
                return None
            if isinstance(value[0], dict):
                return value[0]
        if value is not None:
            self.odd = True
        return None

    def index(self, parent: JSONObject, key: str, default: int) -> int | None:
        """`parent[key]` as a list index (`default` when absent); None when not one."""
        value = parent.get(key)
        if value is None:
            return default
        if is_index(value):
            return int(value)
        self.odd = True
        return None
