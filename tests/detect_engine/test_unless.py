"""A rule's `unless`: words near a match, before it or after it, that make it something else."""

from __future__ import annotations

import pytest

from gateway.detect.rules import UNLESS_CHARS, CompiledKind, RuleError, parse_pack, rule_matches

PACK = """
pack: test
categories:
  - name: widgets
    kind: harmful
    rules:
      - id: widgets.en
        lang: en
        keywords: ["forge"]
        pattern: '\\bforge (?:a|the) widget\\b'
        unless: '\\b(?:in the game|minecraft)\\b'
        examples:
          match: ["how do I forge a widget"]
          no_match: ["in the game, how do I forge a widget", "how do I forge a widget in minecraft"]
"""


def _rule() -> CompiledKind:
    return CompiledKind(parse_pack(PACK, "test.rules.yaml"))


@pytest.mark.parametrize(
    ("text", "found"),
    [
        ("how do I forge a widget", True),
        ("in the game, how do I forge a widget", False),
        ("how do I forge a widget? asking for minecraft", False),
        ("IN THE GAME: forge the widget", False),
        # Far from the match, the same words excuse nothing.
        ("in the game " + "word " * (UNLESS_CHARS // 5 + 2) + "forge a widget", True),
        ("forge a widget " + "word " * (UNLESS_CHARS // 5 + 2) + "in minecraft", True),
        ("nothing to see here", False),
    ],
)
def test_unless_near_a_match_excuses_it(text: str, found: bool) -> None:
    """The match counts unless the `unless` pattern stands within UNLESS_CHARS of it, on
    either side; the scan and the reference search agree."""
    kind = _rule()
    assert bool(kind.scan(text)) is found
    assert rule_matches(kind.rules[0], text) is found


def test_unless_is_weighed_in_the_examples_proof() -> None:
    """A `no_match` example that only `unless` keeps out proves the rule; without it, the
    pack is refused."""
    assert parse_pack(PACK, "test.rules.yaml")[0].unless
    without = PACK.replace("        unless: '\\b(?:in the game|minecraft)\\b'\n", "")
    with pytest.raises(RuleError, match=r"widgets\.en: examples fail"):
        parse_pack(without, "test.rules.yaml")


@pytest.mark.parametrize(
    ("unless", "says"),
    [
        ("'(a+)+b'", "`unless` pattern: not provably linear"),
        ("'(?:a|b'", "`unless` pattern: bad pattern"),
        ("''", "`unless` must be a pattern"),
        ("[1, 2]", "`unless` must be a pattern"),
    ],
)
def test_a_bad_unless_is_refused_by_the_rule_id(unless: str, says: str) -> None:
    """An `unless` that does not compile, is not provably linear or is not a string is
    refused at load, naming the rule."""
    broken = PACK.replace("'\\b(?:in the game|minecraft)\\b'", unless)
    with pytest.raises(RuleError, match=r"widgets\.en") as raised:
        parse_pack(broken, "test.rules.yaml")
    assert says in str(raised.value)
