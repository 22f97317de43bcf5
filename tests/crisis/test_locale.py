"""Accept-Language parsing and country codes."""

from __future__ import annotations

import pytest

from gateway.crisis.locale import LanguageTag, country_code, parse_accept_language, tag_country


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("fr-FR", [("fr", "FR")]),
        ("en-us", [("en", "US")]),
        ("de", [("de", None)]),
        ("de;q=0.5, fr;q=0.9", [("fr", None), ("de", None)]),
        ("de;q=0.5,fr;q=0.9,en", [("en", None), ("fr", None), ("de", None)]),
        (
            "fr-CH, fr;q=0.9, en;q=0.8, de;q=0.7, *;q=0.5",
            [("fr", "CH"), ("fr", None), ("en", None), ("de", None)],
        ),
        ("en;q=0, fr", [("fr", None)]),
        ("en;q=abc, fr;q=0.1", [("fr", None)]),
        ("en;q=2, fr;q=0.1", [("fr", None)]),
        ("es ; Q=0.3 , it", [("it", None), ("es", None)]),
        ("zh-Hant-TW", [("zh", "TW")]),
        ("zh-yue-HK", [("zh", "HK")]),
        ("sr-Latn", [("sr", None)]),
        ("es-419", [("es", None)]),
        ("en-ZZ", [("en", None)]),
        ("x-klingon, i-default", []),
        ("*", []),
        ("", []),
        ("not a tag, fr", [("fr", None)]),
    ],
)
def test_parse_accept_language(header: str, expected: list[tuple[str, str | None]]) -> None:
    """Tags come best first, q=0, malformed q-values and wildcards dropped."""
    parsed = parse_accept_language(header)
    assert [(tag.language, tag.region) for tag in parsed] == expected


def test_equal_q_values_keep_header_order() -> None:
    """Among equal q-values the header's order stands."""
    parsed = parse_accept_language("it;q=0.8, nl;q=0.8, ja;q=0.8")
    assert [tag.language for tag in parsed] == ["it", "nl", "ja"]


def test_long_header_is_bounded() -> None:
    """Only the first entries of an absurdly long header are read."""
    parsed = parse_accept_language(", ".join(["en"] * 10_000) + ", fr;q=1")
    assert {tag.language for tag in parsed} == {"en"}


@pytest.mark.parametrize(
    ("tag", "country"),
    [
        (LanguageTag("fr", "CA", has_region=True), "CA"),
        (LanguageTag("fr", None, has_region=False), "FR"),
        (LanguageTag("pt", None, has_region=False), "PT"),
        (LanguageTag("ja", None, has_region=False), "JP"),
        (LanguageTag("es", None, has_region=True), None),
        (LanguageTag("xx", None, has_region=False), None),
    ],
)
def test_tag_country(tag: LanguageTag, country: str | None) -> None:
    """A tag's region wins; a bare language means its likely country."""
    assert tag_country(tag) == country


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("FR", "FR"),
        (" gb ", "GB"),
        ("XX", None),
        ("ZZ", None),
        ("QM", None),
        ("T1", None),
        ("USA", None),
        ("", None),
        (None, None),
        ("ÉS", None),
    ],
)
def test_country_code(value: str | None, expected: str | None) -> None:
    """Country header values become ISO codes; unknown and private-use values become None."""
    assert country_code(value) == expected
