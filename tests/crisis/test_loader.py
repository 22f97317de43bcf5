"""Loading the crisis directory: bad entries are refused, and the error names them."""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from gateway.crisis import CrisisDirectoryError, load_directory, parse_directory
from gateway.crisis.loader import DEFAULT_PATH

Edit = Callable[[dict[str, Any]], None]


@pytest.fixture(scope="module")
def shipped() -> dict[str, Any]:
    """The shipped directory as raw YAML data."""
    data: dict[str, Any] = yaml.safe_load(DEFAULT_PATH.read_text(encoding="utf-8"))
    return data


def edited(shipped: dict[str, Any], edit: Edit) -> str:
    """The shipped directory with one edit, as YAML text."""
    data = copy.deepcopy(shipped)
    edit(data)
    text: str = yaml.safe_dump(data, allow_unicode=True)
    return text


def test_shipped_directory_round_trips(shipped: dict[str, Any]) -> None:
    """The shipped data parses the same from a re-dumped copy."""
    directory = parse_directory(edited(shipped, lambda data: None))
    assert directory.countries == load_directory().countries


def test_load_from_rules_folder(tmp_path: Path) -> None:
    """Given a folder, the loader reads crisis_resources.yaml inside it."""
    (tmp_path / "crisis_resources.yaml").write_text(DEFAULT_PATH.read_text(encoding="utf-8"))
    assert "FR" in load_directory(tmp_path).countries
    assert len(load_directory(tmp_path).version) == 12


def test_missing_file_is_refused(tmp_path: Path) -> None:
    """A named directory file that does not exist is a clear error, not a crash."""
    with pytest.raises(CrisisDirectoryError, match="cannot read the crisis directory"):
        load_directory(tmp_path / "crisis_resources.yaml")


def test_a_rules_folder_without_a_directory_uses_the_shipped_one(tmp_path: Path) -> None:
    """A folder of rule packs only falls back to the shipped crisis directory."""
    assert load_directory(tmp_path).version == load_directory().version


def _drop_source(data: dict[str, Any]) -> None:
    del data["countries"]["FR"]["lines"][0]["source"]


def _no_lines(data: dict[str, Any]) -> None:
    data["countries"]["FR"]["lines"] = []


def _unreachable(data: dict[str, Any]) -> None:
    for line in data["countries"]["BR"]["lines"]:
        line.update(phone=None, text=None, chat_url=None)


def _no_fallback(data: dict[str, Any]) -> None:
    del data["fallback"]


def _no_german(data: dict[str, Any]) -> None:
    del data["texts"]["de"]


def _no_guidance(data: dict[str, Any]) -> None:
    del data["texts"]["es"]["harm_to_others"]["guidance"]


def _unquoted_number(data: dict[str, Any]) -> None:
    data["countries"]["AU"]["lines"][0]["phone"] = 131114


def _bad_url(data: dict[str, Any]) -> None:
    data["countries"]["NL"]["lines"][0]["source"] = "113.nl"


def _typo(data: dict[str, Any]) -> None:
    data["countries"]["US"]["lines"][0]["phone_number"] = "988"


def _bad_code(data: dict[str, Any]) -> None:
    data["countries"]["fr"] = data["countries"].pop("FR")


def _bad_language(data: dict[str, Any]) -> None:
    data["countries"]["JP"]["lines"][0]["languages"] = ["Japanese"]


def _bad_category(data: dict[str, Any]) -> None:
    data["categories"]["suicide"] = "comfort"


def _no_international(data: dict[str, Any]) -> None:
    data["international"]["lines"] = []


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (_drop_source, r"countries\.FR\.lines\[0\] \(3114 .*\): needs a `source`"),
        (_no_lines, r"countries\.FR: needs at least one line"),
        (_unreachable, r"countries\.BR: needs a line with a `phone`, `text` or `chat_url`"),
        (_no_fallback, r"fallback: the international fallback is missing"),
        (_no_german, r"texts: missing languages \['de'\]"),
        (_no_guidance, r"texts\.es\.harm_to_others: needs a `guidance`"),
        (_unquoted_number, r"countries\.AU\.lines\[0\] \(Lifeline\): `phone` must be a quoted"),
        (_bad_url, r"countries\.NL\.lines\[0\] .*`source` is not an http\(s\) URL"),
        (_typo, r"countries\.US\.lines\[0\] .*unknown keys \['phone_number'\]"),
        (_bad_code, r"countries\.fr: not an upper-case ISO 3166 code"),
        (_bad_language, r"countries\.JP\.lines\[0\] .*`languages` must list ISO 639-1"),
        (_bad_category, r"categories\.suicide: must be one of"),
        (_no_international, r"international: needs at least one line"),
    ],
)
def test_malformed_directory_is_refused(shipped: dict[str, Any], edit: Edit, message: str) -> None:
    """A malformed entry is refused with an error naming it."""
    with pytest.raises(CrisisDirectoryError, match=message):
        parse_directory(edited(shipped, edit))


def test_invalid_yaml_is_refused() -> None:
    """Text that is not YAML is refused as such."""
    with pytest.raises(CrisisDirectoryError, match="not valid YAML"):
        parse_directory("countries: [unclosed")
