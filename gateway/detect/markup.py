"""Markup and escapes read before folding: what a model reads as letters, the detectors do too.

A model reads `s&#97;rin`, `s\\u0061rin`, `sa%72in`, `sa<b>r</b>in` and `**sa**rin` as
`sarin`; so does `read`:
- HTML character references, numeric and named (`&#97;`, `&#x61;`, `&eacute;`);
- literal escapes `\\uXXXX`, `\\UXXXXXXXX` and `\\xXX` (as a JSON string or a Python
  literal writes them inside text);
- percent-encoded letters glued to a letter (`sa%72in`; `100%` and `%20` between words
  stay);
- inline HTML tags (`<b>`, `</span>`, `<font color=red>`), removed;
- markdown's doubled emphasis markers (`**`, `__`, `~~`), removed.

Each step runs only when its first character is in the text, with a pattern that starts
with that literal (`re` skips to it at C speed).
"""

from __future__ import annotations

import html
import re
from typing import Final

_ENTITY: Final = re.compile(r"&(?:#[0-9]{1,7}|#[xX][0-9a-fA-F]{1,6}|[A-Za-z][A-Za-z0-9]{1,31});")
_ESCAPE: Final = re.compile(r"\\(?:u([0-9a-fA-F]{4})|U([0-9a-fA-F]{8})|x([0-9a-fA-F]{2}))")
_PERCENT: Final = re.compile(r"%([0-9a-fA-F]{2})")
_LETTER: Final = re.compile(r"[^\W\d_]")
_INLINE_TAG: Final = re.compile(
    r"</?(?:a|abbr|b|big|code|del|em|font|i|ins|kbd|mark|q|s|small|span|strike|strong|sub"
    r"|sup|tt|u)(?:\s[^<>]{0,200})?/?>",
    re.IGNORECASE,
)
_EMPHASIS: Final = re.compile(r"\*\*|__|~~")


def read(text: str) -> str:
    """`text` with its markup and escapes read (see the module's doc)."""
    if "&" in text:
        text = _ENTITY.sub(lambda match: html.unescape(match[0]), text)
    if "\\" in text:
        text = _ESCAPE.sub(_unescaped, text)
    if "%" in text:
        text = _PERCENT.sub(_percent_letter, text)
    if "<" in text:
        text = _INLINE_TAG.sub("", text)
    if "**" in text or "__" in text or "~~" in text:
        text = _EMPHASIS.sub("", text)
    return text


def _unescaped(match: re.Match[str]) -> str:
    code = int(next(group for group in match.groups() if group), 16)
    if code > 0x10FFFF or 0xD800 <= code <= 0xDFFF or code < 0x20:
        return match[0]  # no character, or a control one: left as written
    return chr(code)


def _percent_letter(match: re.Match[str]) -> str:
    """A percent-encoded ASCII letter glued to a letter, decoded; anything else as written."""
    char = chr(int(match[1], 16))
    start, end = match.span()
    text = match.string
    glued = (start and _LETTER.match(text, start - 1)) or _LETTER.match(text, end)
    return char if glued and char.isascii() and char.isalpha() else match[0]
