"""Proofs of linearity remembered across processes: read back, never trusted blindly."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest

from gateway.detect import linear, proofs, starts
from gateway.detect.linear import NotLinear
from gateway.detect.rules import (
    RuleError,
    forget_rule_sets,
    forget_start_texts,
    load_rules,
    parse_pack,
)
from tests.detect_engine.test_linear import PACK

FLAGS = re.IGNORECASE | re.UNICODE


@pytest.fixture
def folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A proof folder of the test's own, read afresh as by a new process."""
    monkeypatch.setattr(proofs, "folders", lambda: [tmp_path / "proofs"])
    proofs.forget()
    forget_rule_sets()
    yield tmp_path / "proofs"
    proofs.forget()


def kept(folder: Path) -> dict[str, list[int]]:
    loaded: dict[str, list[int]] = orjson.loads((folder / proofs.FILE_NAME).read_bytes())
    return loaded


def test_a_new_process_reads_the_proofs_the_last_one_kept(
    folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = load_rules(model=False)
    assert len(kept(folder)) >= len({rule.pattern for rule in first.rules})

    def never(pattern: str, flags: int) -> linear.Cost:
        raise AssertionError(f"proven again: {pattern[:40]}")

    proofs.forget()
    forget_rule_sets()
    monkeypatch.setattr(linear, "prove_linear", never)
    again = load_rules(model=False)
    assert [rule.pattern for rule in again.rules] == [rule.pattern for rule in first.rules]


def test_a_new_process_reads_the_start_texts_the_last_one_kept(
    folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The texts each pattern's matches start with are kept beside its proof, and read back
    the same: a start-up reads them instead of parsing every pattern again."""
    forget_start_texts()
    first = load_rules(model=False)
    read = {rule.pattern: starts.starts(rule.pattern, FLAGS) for rule in first.rules}

    def never(pattern: str, flags: int) -> starts.Starts | None:
        raise AssertionError(f"read again: {pattern[:40]}")

    proofs.forget()
    forget_start_texts()
    forget_rule_sets()
    monkeypatch.setattr(starts, "starts", never)
    again = load_rules(model=False)
    assert len(again.rules) == len(first.rules)
    assert {rule.pattern: proofs.known_starts(rule.pattern, FLAGS) for rule in again.rules} == read


def test_a_pattern_the_file_lacks_is_proven_and_kept(folder: Path) -> None:
    load_rules(model=False)
    before = len(kept(folder))
    parse_pack(PACK.format(pattern=r"aab|\bforge a widget\b"), "tiny.rules.yaml")
    proofs.keep()
    assert len(kept(folder)) == before + 1
    cost = proofs.proven(r"aab|\bforge a widget\b", re.IGNORECASE)
    assert cost == linear.prove_linear(r"aab|\bforge a widget\b", re.IGNORECASE)


def test_a_pattern_that_is_not_linear_is_never_remembered(folder: Path) -> None:
    with pytest.raises(RuleError, match="not provably linear"):
        parse_pack(PACK.format(pattern=r"(?:a{1,10}){1,4}b|forge a widget"), "slow.rules.yaml")
    proofs.keep()
    assert not (folder / proofs.FILE_NAME).exists()
    proofs.forget()
    with pytest.raises(NotLinear):
        proofs.proven(r"(?:a{1,10}){1,4}b", re.IGNORECASE)


@pytest.mark.parametrize("content", [b"not json", b"[1, 2]", b'{"x": "y"}', b""])
def test_a_damaged_file_costs_a_proof_and_is_written_again(folder: Path, content: bytes) -> None:
    folder.mkdir()
    (folder / proofs.FILE_NAME).write_bytes(content)
    load_rules(model=False)
    assert len(kept(folder)) > 10


def test_an_unwritable_folder_gives_way_to_the_next_and_none_is_no_fault(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    blocked = tmp_path / "a-file"
    blocked.write_text("a file where a folder should be")
    monkeypatch.setattr(proofs, "folders", lambda: [blocked / "proofs", tmp_path / "next"])
    proofs.forget()
    forget_rule_sets()
    load_rules(model=False)
    assert len(kept(tmp_path / "next")) > 10
    assert list((tmp_path / "next").iterdir()) == [tmp_path / "next" / proofs.FILE_NAME]
    monkeypatch.setattr(proofs, "folders", lambda: [blocked / "proofs"])
    proofs.forget()
    forget_rule_sets()
    assert load_rules(model=False).rules
    proofs.forget()


def test_the_shipped_folders_are_bytecodes_then_the_users_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    package, user = proofs.folders()
    assert package == Path(linear.__file__).parent / "__pycache__"
    assert user == tmp_path / "lastword"
