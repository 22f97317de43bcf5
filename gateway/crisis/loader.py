"""Loading `rules/crisis_resources.yaml`: every entry checked, the first fault named.

A crisis directory with a line nobody can reach, or a number nobody can trace back to its
service, is worse than none: the gateway refuses to start on it.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path
from typing import Any

import yaml

from gateway import yaml_text
from gateway.crisis.directory import (
    VARIANTS,
    Country,
    CrisisDirectory,
    Fallback,
    Line,
    Texts,
)
from gateway.crisis.locale import country_code
from gateway.detect.rules import DEFAULT_RULES_DIR
from gateway.errors import GatewayError

FILE_NAME = "crisis_resources.yaml"
DEFAULT_PATH = DEFAULT_RULES_DIR / FILE_NAME
REQUIRED_LANGUAGES = ("en", "fr", "es", "de")
_LINE_KEYS = frozenset({"name", "phone", "text", "chat_url", "url", "languages", "hours", "source"})
_LANGUAGE = re.compile(r"[a-z]{2}")
_URL = re.compile(r"https?://\S+")


class CrisisDirectoryError(GatewayError):
    """The crisis directory is invalid; the message names the file and the entry."""


def load_directory(path: Path | str | None = None) -> CrisisDirectory:
    """Load and check the crisis directory: a file, a rules folder holding it, or the default.

    A rules folder without a directory of its own (packs only) uses the shipped one.
    """
    path = Path(path) if path is not None else DEFAULT_PATH
    if path.is_dir():
        path = path / FILE_NAME if (path / FILE_NAME).exists() else DEFAULT_PATH
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise CrisisDirectoryError(f"{path}: cannot read the crisis directory: {exc}") from None
    return parse_directory(text, path.name)


def parse_directory(text: str, where: str = FILE_NAME) -> CrisisDirectory:
    """The crisis directory of a YAML text; `where` names it in errors."""
    try:
        data = yaml_text.safe_load(text)
    except yaml.YAMLError as exc:
        raise CrisisDirectoryError(f"{where}: not valid YAML: {exc}") from None
    if not isinstance(data, dict):
        raise CrisisDirectoryError(f"{where}: the crisis directory must be a mapping")
    fallback = _fallback(data.get("fallback"), f"{where}: fallback")
    international = _country("international", data.get("international"), where, reachable=False)
    raw_countries = _mapping(data.get("countries"), f"{where}: countries")
    countries: dict[str, Country] = {}
    for code, raw in raw_countries.items():
        if not isinstance(code, str) or country_code(code) != code:
            raise CrisisDirectoryError(
                f"{where}: countries.{code}: not an upper-case ISO 3166 code (quote NO, ON...)"
            )
        countries[code] = _country(code, raw, where, reachable=True)
    texts = _texts(data.get("texts"), f"{where}: texts")
    categories = _categories(data.get("categories") or {}, f"{where}: categories")
    version = hashlib.sha256(text.encode()).hexdigest()[:12]
    return CrisisDirectory(
        countries=countries,
        international=international,
        fallback=fallback,
        texts=texts,
        categories=categories,
        version=version,
    )


def _mapping(raw: Any, where: str) -> dict[Any, Any]:
    if not isinstance(raw, dict) or not raw:
        raise CrisisDirectoryError(f"{where}: needs a non-empty mapping")
    return raw


def _required(raw: dict[Any, Any], key: str, where: str) -> str:
    value = raw.get(key)
    if not isinstance(value, str) or not value.strip():
        raise CrisisDirectoryError(f"{where}: needs a `{key}` (a non-empty string)")
    return value.strip()


def _optional(raw: dict[Any, Any], key: str, where: str) -> str | None:
    value = raw.get(key)
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        raise CrisisDirectoryError(f"{where}: `{key}` must be a quoted string or null")
    return value.strip()


def _url(raw: dict[Any, Any], key: str, where: str) -> str:
    value = _required(raw, key, where)
    if not _URL.fullmatch(value):
        raise CrisisDirectoryError(f"{where}: `{key}` is not an http(s) URL: {value!r}")
    return value


def _optional_url(raw: dict[Any, Any], key: str, where: str) -> str | None:
    return None if raw.get(key) is None else _url(raw, key, where)


def _fallback(raw: Any, where: str) -> Fallback:
    if not isinstance(raw, dict):
        raise CrisisDirectoryError(f"{where}: the international fallback is missing")
    return Fallback(
        _required(raw, "name", where), _url(raw, "url", where), _url(raw, "source", where)
    )


def _country(code: str, raw: Any, where: str, *, reachable: bool) -> Country:
    at = f"{where}: {'countries.' if reachable else ''}{code}"
    entry = _mapping(raw, at)
    lines = entry.get("lines")
    if not isinstance(lines, list) or not lines:
        raise CrisisDirectoryError(f"{at}: needs at least one line in `lines`")
    parsed = tuple(_line(line, f"{at}.lines[{i}]") for i, line in enumerate(lines))
    if reachable and not any(line.phone or line.text or line.chat_url for line in parsed):
        raise CrisisDirectoryError(f"{at}: needs a line with a `phone`, `text` or `chat_url`")
    return Country(code, _optional(entry, "emergency", at), parsed)


def _line(raw: Any, at: str) -> Line:
    if not isinstance(raw, dict):
        raise CrisisDirectoryError(f"{at}: a line must be a mapping")
    name = raw.get("name")
    if isinstance(name, str) and name.strip():
        at = f"{at} ({name.strip()})"
    unknown = sorted(str(key) for key in raw if key not in _LINE_KEYS)
    if unknown:
        raise CrisisDirectoryError(f"{at}: unknown keys {unknown}")
    languages = raw.get("languages")
    if (
        not isinstance(languages, list)
        or not languages
        or not all(isinstance(lang, str) and _LANGUAGE.fullmatch(lang) for lang in languages)
    ):
        raise CrisisDirectoryError(f"{at}: `languages` must list ISO 639-1 codes")
    return Line(
        name=_required(raw, "name", at),
        phone=_optional(raw, "phone", at),
        text=_optional(raw, "text", at),
        chat_url=_optional_url(raw, "chat_url", at),
        url=_url(raw, "url", at),
        languages=tuple(languages),
        hours=_required(raw, "hours", at),
        source=_url(raw, "source", at),
    )


def _texts(raw: Any, where: str) -> dict[str, dict[str, Texts]]:
    languages = _mapping(raw, where)
    missing = [lang for lang in REQUIRED_LANGUAGES if lang not in languages]
    if missing:
        raise CrisisDirectoryError(f"{where}: missing languages {missing}")
    texts: dict[str, dict[str, Texts]] = {}
    for lang, raw_variants in languages.items():
        if not isinstance(lang, str) or not _LANGUAGE.fullmatch(lang):
            raise CrisisDirectoryError(f"{where}.{lang}: not an ISO 639-1 code")
        variants = _mapping(raw_variants, f"{where}.{lang}")
        texts[lang] = {}
        for variant in VARIANTS:
            at = f"{where}.{lang}.{variant}"
            entry = _mapping(variants.get(variant), at)
            texts[lang][variant] = Texts(
                _required(entry, "message", at), _required(entry, "guidance", at)
            )
    return texts


def _categories(raw: Any, where: str) -> dict[str, str]:
    if not isinstance(raw, dict):
        raise CrisisDirectoryError(f"{where}: must map crisis categories to {VARIANTS}")
    for category, variant in raw.items():
        if not isinstance(category, str) or variant not in VARIANTS:
            raise CrisisDirectoryError(f"{where}.{category}: must be one of {VARIANTS}")
    return dict(raw)
