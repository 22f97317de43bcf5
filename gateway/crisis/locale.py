"""Where a person probably is and what they read: country codes and `Accept-Language`.

Parsing is pure and cached per header value: a gateway sees few distinct values, and a
crisis turn should cost no more than a benign one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

# The country a bare language tag most likely means (a subset of CLDR's likely subtags).
LIKELY_COUNTRY: dict[str, str] = {
    "en": "US",
    "fr": "FR",
    "es": "ES",
    "de": "DE",
    "it": "IT",
    "pt": "PT",
    "nl": "NL",
    "ja": "JP",
    "hi": "IN",
    "ga": "IE",
    "cy": "GB",
    "mi": "NZ",
}

_TAG = re.compile(r"[A-Za-z]{1,8}(?:-[A-Za-z0-9]{1,8})*")
# ISO 3166 codes left for private use: never a real place (Cloudflare sends XX for unknown).
_PRIVATE_USE = re.compile(r"AA|Q[M-Z]|X[A-Z]|ZZ")
_MAX_ITEMS = 32  # a longer header is an attack or a bug; the first tags are what count


@dataclass(frozen=True, slots=True)
class Locale:
    """The country whose lines to show (None: international) and the language to use."""

    country: str | None
    language: str


@dataclass(frozen=True, slots=True)
class LanguageTag:
    """One acceptable `Accept-Language` entry: its language and its usable country."""

    language: str
    region: str | None
    has_region: bool


def country_code(value: str | None) -> str | None:
    """An ISO 3166-1 alpha-2 code, upper-cased, or None when `value` names no real place."""
    if not value:
        return None
    code = value.strip().upper()
    if len(code) != 2 or not code.isascii() or not code.isalpha():
        return None
    return None if _PRIVATE_USE.fullmatch(code) else code


@lru_cache(maxsize=1024)
def parse_accept_language(value: str) -> tuple[LanguageTag, ...]:
    """The acceptable tags of an `Accept-Language` value, best first (q=0 and `*` dropped)."""
    weighted: list[tuple[float, int, LanguageTag]] = []
    for index, item in enumerate(value.split(",")[:_MAX_ITEMS]):
        tag, _, params = item.partition(";")
        tag = tag.strip()
        quality = _quality(params)
        if quality <= 0 or not _TAG.fullmatch(tag):
            continue
        parsed = _language_tag(tag)
        if parsed is not None:
            weighted.append((-quality, index, parsed))
    weighted.sort(key=lambda entry: (entry[0], entry[1]))
    return tuple(entry[2] for entry in weighted)


def _quality(params: str) -> float:
    """The q-value of one entry's parameters: 1 when absent, 0 when malformed."""
    for param in params.split(";"):
        name, _, raw = param.partition("=")
        if name.strip().lower() == "q":
            try:
                quality = float(raw.strip())
            except ValueError:
                return 0.0
            return quality if 0.0 <= quality <= 1.0 else 0.0
    return 1.0


def _language_tag(tag: str) -> LanguageTag | None:
    """The language and region of a well-formed BCP 47 tag, or None for `*`, `x-`, `i-`."""
    primary, *rest = tag.lower().split("-")
    if not 2 <= len(primary) <= 3 or not primary.isalpha():
        return None
    script_seen = False
    for subtag in rest:
        if len(subtag) == 3 and subtag.isalpha() and not script_seen:
            continue  # an extended language subtag (zh-yue)
        if len(subtag) == 4 and subtag.isalpha():
            script_seen = True  # a script (zh-Hant-TW)
            continue
        if (len(subtag) == 2 and subtag.isalpha()) or (len(subtag) == 3 and subtag.isdigit()):
            # A numeric region (es-419) is a continent, not a country: no usable code.
            return LanguageTag(primary, country_code(subtag), has_region=True)
        break
    return LanguageTag(primary, None, has_region=False)


def tag_country(tag: LanguageTag) -> str | None:
    """The country a tag points to: its region, else its language's likely country.

    A tag with a region that is no country (es-419, en-ZZ) points nowhere: the language's
    usual country would be a guess the person has already contradicted.
    """
    if tag.has_region:
        return tag.region
    return LIKELY_COUNTRY.get(tag.language)
