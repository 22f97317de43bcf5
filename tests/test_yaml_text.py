"""YAML read with libyaml's parser: the same data as the pure parser, its errors as clear."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from gateway import yaml_text

RULES = Path(__file__).resolve().parents[1] / "rules"


@pytest.mark.parametrize("path", sorted(RULES.glob("*.yaml")), ids=lambda path: path.name)
def test_shipped_files_read_as_the_pure_parser_reads_them(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    assert yaml_text.safe_load(text) == yaml.safe_load(text)


def test_libyaml_is_the_parser_used() -> None:
    # Debian's and PyPI's PyYAML builds carry libyaml: without it, reading is only slower.
    assert yaml.__with_libyaml__


def test_a_bad_text_is_named_by_the_pure_parser_with_its_line_quoted() -> None:
    with pytest.raises(yaml.YAMLError) as caught:
        yaml_text.safe_load("categories:\n  - name: [one,\n    kind: harmful\n")
    assert "^" in str(caught.value)  # the pure parser's snippet, under the line at fault
    assert "line 2" in str(caught.value)


def test_only_safe_tags_are_read() -> None:
    with pytest.raises(yaml.YAMLError):
        yaml_text.safe_load("!!python/object/apply:os.system ['true']")
