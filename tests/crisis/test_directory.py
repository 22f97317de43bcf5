"""The shipped crisis directory: its countries, locale resolution, JSON and guidance."""

from __future__ import annotations

import re

import pytest
from multidict import CIMultiDict

from gateway.crisis import CrisisDirectory, Locale, load_directory

COUNTRIES = ["US", "CA", "GB", "IE", "FR", "BE", "CH", "DE", "AT", "ES"]
COUNTRIES += ["IT", "PT", "NL", "MX", "BR", "AR", "IN", "JP", "AU", "NZ"]
# Words naming means of harm, in the four required languages: guidance must name none.
METHOD_WORDS = re.compile(
    r"\b(?:overdose|pills?|hang(?:ing)?|rope|jump(?:ing)?|bridge|guns?|firearms?|knife|"
    r"blades?|poison|razor|drown|surdose|pendaison|corde|sauter|pont|armes?|couteau|"
    r"médicaments?|sobredosis|ahorcar(?:se)?|cuerda|saltar|puente|cuchillo|veneno|"
    r"pastillas|überdosis|erhängen|seil|springen|brücke|waffen?|messer|gift|tabletten)\b",
    re.IGNORECASE,
)


@pytest.fixture(scope="module")
def directory() -> CrisisDirectory:
    """The directory shipped in rules/."""
    return load_directory()


def locale_of(
    directory: CrisisDirectory,
    accept_language: str | None = None,
    country: str | None = None,
    default_country: str | None = None,
) -> Locale:
    """Resolve a locale from an Accept-Language value and a CF-IPCountry value."""
    headers: CIMultiDict[str] = CIMultiDict()
    if accept_language is not None:
        headers["Accept-Language"] = accept_language
    if country is not None:
        headers["CF-IPCountry"] = country
    return directory.resolve_locale(headers, "CF-IPCountry", default_country)


def phones(resources: dict[str, object]) -> list[object]:
    """The phone numbers of a crisis_resources object, in order."""
    lines = resources["lines"]
    assert isinstance(lines, list)
    return [line["phone"] for line in lines]


@pytest.mark.parametrize("code", COUNTRIES)
def test_every_country_is_listed_with_sources(directory: CrisisDirectory, code: str) -> None:
    """Each required country has a reachable line, and every line names its source."""
    country = directory.countries[code]
    assert any(line.phone or line.text or line.chat_url for line in country.lines)
    assert all(line.source.startswith("https://") for line in country.lines)
    assert country.emergency


def test_international_fallback_is_find_a_helpline(directory: CrisisDirectory) -> None:
    """The fallback is findahelpline.com, and international lines all name a source."""
    assert directory.fallback.name == "Find A Helpline"
    assert directory.fallback.url == "https://findahelpline.com"
    assert directory.international.lines
    assert all(line.source for line in directory.international.lines)


@pytest.mark.parametrize(
    ("accept_language", "country", "language", "first_phone"),
    [
        ("fr-FR", "FR", "fr", "3114"),
        ("fr-CA", "CA", "fr", "988"),
        ("en-GB", "GB", "en", "116 123"),
        ("en-US", "US", "en", "988"),
        ("en", "US", "en", "988"),
        ("de-AT", "AT", "de", "142"),
        ("es-MX", "MX", "es", "800 911 2000"),
        ("es-ES", "ES", "es", "024"),
        ("de", "DE", "de", "0800 111 0 111"),
        ("de-CH", "CH", "de", "143"),
        ("pt-BR", "BR", "pt", "188"),
        ("pt", "PT", "pt", "808 24 24 24"),
        ("nl-BE", "BE", "nl", "1813"),
        ("fr-BE", "BE", "fr", "0800 32 123"),
        ("ja-JP", "JP", "ja", "0120-279-338"),
        ("en-IN", "IN", "en", "14416"),
        ("en-AU", "AU", "en", "13 11 14"),
        ("en-NZ", "NZ", "en", "1737"),
        ("es-AR", "AR", "es", "135"),
        ("de;q=0.5, fr;q=0.9", "FR", "fr", "3114"),
        ("xx-ZZ, de;q=0.5", "DE", "de", "0800 111 0 111"),
        ("sv-SE, en;q=0.5", "SE", "en", None),
        ("xx-ZZ", None, "en", None),
        ("es-419", None, "es", None),
        ("*", None, "en", None),
        ("", None, "en", None),
    ],
)
def test_locale_resolution(
    directory: CrisisDirectory,
    accept_language: str,
    country: str | None,
    language: str,
    first_phone: str | None,
) -> None:
    """Accept-Language picks country and language; unknown places get international lines."""
    locale = locale_of(directory, accept_language)
    assert locale == Locale(country, language)
    resources = directory.resources(locale, "self_harm_suicide")
    assert resources["language"] == language
    if first_phone is None:
        assert resources["country"] is None
        assert resources["emergency"] is None
        assert resources["lines"] == [line.as_json() for line in directory.international.lines]
    else:
        assert resources["country"] == country
        assert phones(resources)[0] == first_phone


@pytest.mark.parametrize(
    ("header", "accept_language", "default", "expected"),
    [
        ("GB", "fr-FR", None, Locale("GB", "fr")),
        ("de", "en-US", None, Locale("DE", "en")),
        ("BE", None, None, Locale("BE", "fr")),
        ("CH", None, None, Locale("CH", "de")),
        ("IN", None, None, Locale("IN", "en")),
        ("KE", "en-US", "US", Locale("KE", "en")),
        ("XX", "en-GB", None, Locale("GB", "en")),
        ("T1", "en-GB", None, Locale("GB", "en")),
        (None, None, "AU", Locale("AU", "en")),
        (None, "fr", "AU", Locale("FR", "fr")),
        (None, None, None, Locale(None, "en")),
    ],
)
def test_country_header_and_default(
    directory: CrisisDirectory,
    header: str | None,
    accept_language: str | None,
    default: str | None,
    expected: Locale,
) -> None:
    """The country header beats Accept-Language, which beats the configured default."""
    assert locale_of(directory, accept_language, header, default) == expected


def test_listed_country_header_beats_accept_language(directory: CrisisDirectory) -> None:
    """A French speaker in Britain gets British lines, with the French message."""
    resources = directory.resources(locale_of(directory, "fr-FR", "GB"), "self_harm")
    assert resources["country"] == "GB"
    assert phones(resources)[0] == "116 123"
    assert resources["message"] == directory.texts["fr"]["self_harm"].message
    assert resources["emergency"] == "999"


def test_unlisted_country_header_gets_international_lines(directory: CrisisDirectory) -> None:
    """A person located in an unlisted country is never shown another country's lines."""
    resources = directory.resources(locale_of(directory, "en-US", "KE"), "self_harm")
    assert resources["country"] is None
    assert "988" not in phones(resources)


def test_resources_json_shape(directory: CrisisDirectory) -> None:
    """The crisis_resources object has exactly the documented fields."""
    resources = directory.resources(Locale("FR", "fr"), "self_harm_suicide")
    assert list(resources) == [
        "category",
        "country",
        "language",
        "message",
        "lines",
        "emergency",
        "fallback",
    ]
    assert resources["category"] == "self_harm_suicide"
    assert resources["emergency"] == "112"
    assert resources["fallback"] == {"name": "Find A Helpline", "url": "https://findahelpline.com"}
    assert resources["message"].startswith("Si vous pensez au suicide")
    assert resources["lines"][0] == {
        "name": "3114 — Numéro national de prévention du suicide",
        "phone": "3114",
        "text": None,
        "chat_url": None,
        "url": "https://3114.fr",
        "hours": "24/7",
    }


def test_resources_top_level_is_fresh(directory: CrisisDirectory) -> None:
    """Changing one answer's top level leaves the next answer as it was."""
    first = directory.resources(Locale("US", "en"), "self_harm")
    first["category"] = "changed"
    first["message"] = "changed"
    second = directory.resources(Locale("US", "en"), "self_harm")
    assert second["category"] == "self_harm"
    assert second["message"] == directory.texts["en"]["self_harm"].message


def test_language_without_texts_falls_back_to_english(directory: CrisisDirectory) -> None:
    """A locale in a language the directory has no texts for reads English."""
    resources = directory.resources(Locale("IN", "hi"), "self_harm")
    assert resources["language"] == "en"
    assert resources["message"] == directory.texts["en"]["self_harm"].message


@pytest.mark.parametrize(
    ("category", "variant"),
    [
        ("self_harm_suicide", "self_harm"),
        ("harm_to_others", "harm_to_others"),
        ("violence_to_others", "harm_to_others"),
        ("a_category_nobody_mapped", "self_harm"),
    ],
)
def test_category_picks_text_variant(
    directory: CrisisDirectory, category: str, variant: str
) -> None:
    """Harm-to-others categories get their own texts; anything else the self-harm ones."""
    resources = directory.resources(Locale("DE", "de"), category)
    assert resources["category"] == category
    assert resources["message"] == directory.texts["de"][variant].message
    assert directory.guidance("de", category) == directory.texts["de"][variant].guidance


@pytest.mark.parametrize("language", ["en", "fr", "es", "de", "it", "pt", "nl", "ja"])
@pytest.mark.parametrize("category", ["self_harm_suicide", "harm_to_others"])
def test_guidance_exists_and_names_no_method(
    directory: CrisisDirectory, language: str, category: str
) -> None:
    """Guidance exists in every language and names no means of harm."""
    guidance = directory.guidance(language, category)
    assert len(guidance) > 100
    assert guidance != directory.guidance("en", category) or language == "en"
    assert not METHOD_WORDS.search(guidance), METHOD_WORDS.search(guidance)


def test_guidance_falls_back_to_english(directory: CrisisDirectory) -> None:
    """Guidance for a language without texts is the English one."""
    assert directory.guidance("sv", "self_harm") == directory.texts["en"]["self_harm"].guidance
