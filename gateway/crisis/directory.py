"""The crisis directory: helplines by country, supportive texts by language.

Everything a crisis turn needs is built when the directory loads: one JSON object per
country, language and text variant, one guidance string per language and variant. A
request only looks them up.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from gateway.crisis.locale import Locale, country_code, parse_accept_language, tag_country

# Which texts a crisis category gets: the self-harm ones unless the directory maps it.
SELF_HARM = "self_harm"
HARM_TO_OTHERS = "harm_to_others"
VARIANTS = (SELF_HARM, HARM_TO_OTHERS)
DEFAULT_LANGUAGE = "en"

JSONObject = dict[str, Any]


@dataclass(frozen=True, slots=True)
class Line:
    """One crisis line: how to reach it, in which languages, when, and where that is said."""

    name: str
    phone: str | None
    text: str | None
    chat_url: str | None
    url: str
    languages: tuple[str, ...]
    hours: str
    source: str

    def as_json(self) -> JSONObject:
        """The line as clients receive it."""
        return {
            "name": self.name,
            "phone": self.phone,
            "text": self.text,
            "chat_url": self.chat_url,
            "url": self.url,
            "hours": self.hours,
        }


@dataclass(frozen=True, slots=True)
class Country:
    """The lines of one country (or of the international fallback) and its emergency number."""

    code: str
    emergency: str | None
    lines: tuple[Line, ...]

    @property
    def languages(self) -> tuple[str, ...]:
        """Every language its lines answer in, in the order the directory lists them."""
        return tuple(dict.fromkeys(lang for line in self.lines for lang in line.languages))


@dataclass(frozen=True, slots=True)
class Texts:
    """What the person reads above the lines, and what the model is told."""

    message: str
    guidance: str


@dataclass(frozen=True, slots=True)
class Fallback:
    """The international directory every answer points to as a last resort."""

    name: str
    url: str
    source: str


class CrisisDirectory:
    """Crisis lines and texts, ready to serve: lookups only, nothing built per request."""

    def __init__(
        self,
        *,
        countries: Mapping[str, Country],
        international: Country,
        fallback: Fallback,
        texts: Mapping[str, Mapping[str, Texts]],
        categories: Mapping[str, str],
        version: str,
    ) -> None:
        self.countries = dict(countries)
        self.international = international
        self.fallback = fallback
        self.texts = {lang: dict(variants) for lang, variants in texts.items()}
        self.categories = dict(categories)
        self.version = version
        self._first_language = {
            code: next((lang for lang in c.languages if lang in self.texts), DEFAULT_LANGUAGE)
            for code, c in self.countries.items()
        }
        fallback_json = {"name": fallback.name, "url": fallback.url}
        self._templates: dict[tuple[str | None, str, str], JSONObject] = {}
        for country in (*self.countries.values(), international):
            code = None if country is international else country.code
            for lang, variants in self.texts.items():
                lines = [line.as_json() for line in _spoken_first(country.lines, lang)]
                for variant, text in variants.items():
                    self._templates[(code, lang, variant)] = {
                        "country": code,
                        "language": lang,
                        "message": text.message,
                        "lines": lines,
                        "emergency": country.emergency,
                        "fallback": fallback_json,
                    }
        self._resolve = lru_cache(maxsize=1024)(self._resolve_uncached)

    def resolve_locale(
        self,
        headers: Mapping[str, str],
        country_header: str | None,
        default_country: str | None,
    ) -> Locale:
        """The person's locale: the country header, else `Accept-Language`, else the default.

        `headers` must look names up case-insensitively (aiohttp's `request.headers` does).
        A country the directory does not list stays in the locale and gets the
        international lines.
        """
        country_value = headers.get(country_header) if country_header else None
        return self._resolve(country_value, headers.get("Accept-Language", ""), default_country)

    def _resolve_uncached(
        self, country_value: str | None, accept_language: str, default_country: str | None
    ) -> Locale:
        tags = parse_accept_language(accept_language) if accept_language else ()
        country = country_code(country_value)
        if country is None:
            country = next((c for tag in tags if (c := tag_country(tag)) is not None), None)
        if country is None:
            country = country_code(default_country)
        language = next((tag.language for tag in tags if tag.language in self.texts), None)
        if language is None:
            language = self._first_language.get(country or "", DEFAULT_LANGUAGE)
        return Locale(country, language)

    def variant(self, category: str) -> str:
        """The text variant a crisis category gets (`self_harm` unless mapped otherwise)."""
        return self.categories.get(category, SELF_HARM)

    def resources(self, locale: Locale, category: str) -> JSONObject:
        """The `crisis_resources` object for a locale and a crisis category.

        A country the directory does not list gets the international lines and
        `"country": null`. Only the top level is new per call: treat nested values as
        read-only, they are shared.
        """
        code = locale.country if locale.country in self.countries else None
        language = locale.language if locale.language in self.texts else DEFAULT_LANGUAGE
        return {"category": category, **self._templates[(code, language, self.variant(category))]}

    def guidance(self, language: str, category: str) -> str:
        """The care guidance for the system prompt, in `language` or else in English."""
        texts = self.texts.get(language) or self.texts[DEFAULT_LANGUAGE]
        return texts[self.variant(category)].guidance


def _spoken_first(lines: tuple[Line, ...], language: str) -> list[Line]:
    """The lines that answer in `language` first, the directory's order otherwise kept."""
    return sorted(lines, key=lambda line: language not in line.languages)
