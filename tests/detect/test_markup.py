"""Markup and escapes are read as the letters a model reads in them; other text stays."""

from __future__ import annotations

import pytest

from gateway.detect.markup import read


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("s&#97;rin", "sarin"),
        ("s&#x61;rin &eacute;t&eacute;", "sarin été"),
        ("sa&#8203;rin", "sa\u200brin"),
        ("fish &amp; chips &lt;3", "fish & chips <3"),
        ("s\\u0061rin, s\\x61rin, s\\U00000061rin", "sarin, sarin, sarin"),
        ("sa%72in, %6Bill", "sarin, kill"),
        ("sa<b>r</b>in, <span style='color:red'>bomb</span>", "sarin, bomb"),
        ("<FONT color=red>k</FONT>ill", "kill"),
        ("**sa**rin, __ki__ll, ~~b~~omb", "sarin, kill, bomb"),
    ],
)
def test_markup_is_read(text: str, expected: str) -> None:
    """Character references, escapes, encoded letters, inline tags and emphasis are read."""
    assert read(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "100% sure, 50 %",
        "https://example.com/a%20b?q=%2F",
        "C:\\users\\me\\notes.txt",
        "\\u00 is short, \\uD800 is a surrogate, \\x07 a bell",
        "R&D; AT&T & co; &notaref",
        "if a < b and c > d: <div>block</div> <script>x</script>",
        "x = a * b; y = a_b",
    ],
)
def test_other_text_stays(text: str) -> None:
    """Percent signs, paths, broken escapes, ampersands and block tags are left as written."""
    assert read(text) == text
