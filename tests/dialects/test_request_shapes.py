"""The generic reader: every string of unknown content, labels and inline media left out."""

from __future__ import annotations

from typing import Any

import pytest

from gateway.dialects.request_shapes import generic_blocks, strings_in

CASES: list[tuple[Any, list[str]]] = [
    ({"type": "x", "text": "a"}, ["a"]),
    ({"a": ["b", {"c": "d"}], "e": "f"}, ["b", "d", "f"]),
    ({"id": "i", "call_id": "c", "signature": "s", "note": "n"}, ["n"]),
    ({"image_url": "data:image/png;base64,AAAA", "caption": "cap"}, ["cap"]),
    ({"n": 1, "t": True, "z": None}, []),
    ("plain", ["plain"]),
]


@pytest.mark.parametrize(("value", "expected"), CASES)
def test_strings_in_reads_every_string_in_document_order(value: Any, expected: list[str]) -> None:
    """Strings come out in the order they were written, ids, labels and data URLs left out."""
    assert strings_in(value) == expected


def test_deep_nesting_costs_no_recursion() -> None:
    """Content nested far deeper than Python's recursion limit is read all the same."""
    value: Any = "deep"
    for _ in range(50_000):
        value = {"inner": [value]}
    assert strings_in(value) == ["deep"]


def test_generic_blocks_make_one_normalized_text_block() -> None:
    """All the strings become one text block, whitespace normalized; nothing gives none."""
    [block] = generic_blocks({"a": " one ", "b": ["two  three"]})
    assert (block.kind, block.value) == ("text", "one two three")
    assert generic_blocks({"id": "x"}) == []
