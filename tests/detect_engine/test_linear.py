"""Load-time proof of linearity: backtracking-prone patterns are refused, named, at load."""

from __future__ import annotations

import re

import pytest

from gateway.detect.linear import REACH_LIMIT, REPEAT_LIMIT, NotLinear, prove_linear
from gateway.detect.pattern_text import show
from gateway.detect.rules import RuleError, parse_pack

PACK = """
pack: tiny
categories:
  - name: widgets
    kind: harmful
    rules:
      - id: widgets.slow.en
        lang: en
        pattern: '{pattern}'
        examples:
          match: ["aab", "forge a widget"]
          no_match: ["nothing here", "widget"]
"""


@pytest.mark.parametrize(
    ("pattern", "construct"),
    [
        (r"(a+)+b", "unbounded repeat `(a+)+`"),
        (r"(\w+\s?)*x", r"unbounded repeat `(\w+\s?)*`"),
        (r"\bforge\W+(?:\w+\W+){0,7}?widget", r"unbounded repeat `\W+`"),
        (r"[.!?:] \W*(?:make|build)", r"unbounded repeat `\W*`"),
        (r"x{2,}", "unbounded repeat `x{2,}`"),
        (r"(a{1,9}){1,9}b", "`(a{1,9}){1,9}` can match one text in"),
        (r"(\w{1,9}\s?){0,9}x", r"`(\w{1,9}\s?){0,9}` can match one text in"),
        (r"(?:a|a){1,30}b", "can match one text in"),
        (r"(?:\w{1,40}\W{1,10}){0,7}?'ll", r"`(?:\w{1,40}\W{1,10}){0,7}?` can match one text in"),
        (r"(?=(?:a{1,20}){1,20})b", "`(?:a{1,20}){1,20}`"),
        (r"(a)x\1", "a backreference"),
        ("a{0,10}" * 9 + "b", "steps (limit 1.0e+09)"),
        (r"x.{0,5000}y", f"(limit {REACH_LIMIT})"),
    ],
)
def test_a_pattern_that_may_backtrack_without_bound_is_refused(
    pattern: str, construct: str
) -> None:
    """Unbounded repeats, ambiguous nested repeats, backreferences, long reach: refused."""
    with pytest.raises(NotLinear) as raised:
        prove_linear(pattern)
    assert construct in str(raised.value)


@pytest.mark.parametrize(
    "pattern",
    [
        r"\bforge\W{1,10}(?:\w{1,40}\W{1,10}){0,7}?widgets?\b",
        r"\bwrite(?: [\w'\u2019-]{1,40}){0,3}? (?:about|of)\b",
        r"[.!?:] \W{0,10}(?:(?:please|so|ok(?:ay)?),? ){0,4}(?:make|build)\b",
        r"\byou (?:(?:fucking|fuckin|fucked up|stupid) ){0,6}bot\b(?!.{0,60}\bgame\b)",
        r"(?<![\d.,])(?:[1-9]|1[0-7]) ?y/?o\b",
        r"(?:a|ab){1,20}c",
        r"\bich (?:\w{1,40} ){0,2}?um\b",
        r"(?>\w{1,40})x",
        r"\w{1,40}+x",
    ],
)
def test_bounded_unambiguous_patterns_are_accepted(pattern: str) -> None:
    """Word windows, lookarounds and bounded runs that can match one way are proven."""
    cost = prove_linear(pattern)
    assert 0 < cost.reach + cost.behind <= REACH_LIMIT
    assert cost.steps >= cost.ways >= 1


def test_reach_is_what_one_attempt_may_read() -> None:
    """Reach counts consumed text and lookahead; lookbehind counts before the start."""
    cost = prove_linear(r"(?<=ab)x{1,5}(?=y{0,3}z)")
    assert (cost.width, cost.behind) == (5, 2)
    assert cost.reach == 5 + 4


def test_a_run_followed_by_its_own_class_counts_every_length() -> None:
    """`a{1,9}` before `a` may end in 9 places; before `b`, in one."""
    assert prove_linear(r"a{1,9}bc").ways == 1
    assert prove_linear(r"a{1,9}ac").ways == 9


def test_the_limit_sits_between_shipped_windows_and_nested_ambiguity() -> None:
    """A 14-word window is well inside the limit; 10 ambiguous ways over 4 iterations is not."""
    assert prove_linear(r"\bx\W{1,10}(?:\w{1,40}\W{1,10}){0,13}?y").ways < REPEAT_LIMIT
    with pytest.raises(NotLinear):
        prove_linear(r"(?:a{1,10}){1,4}b")


def test_show_renders_a_construct_readably() -> None:
    """The construct in an error reads like the pattern it came from."""
    parsed = list(re._parser.parse(r"(?:\w+\W+){0,7}?", re.IGNORECASE))  # type: ignore[attr-defined]
    assert show(parsed) == r"(?:\w+\W+){0,7}?"


@pytest.mark.parametrize(
    ("pattern", "construct"),
    [
        (r"(a+)+b|forge a widget", "unbounded repeat `(a+)+`"),
        (r"(\w+\s?)*b|forge a widget", r"unbounded repeat `(\w+\s?)*`"),
        (r"(a{1,9}){1,9}b|forge a widget", "`(a{1,9}){1,9}` can match one text in"),
    ],
)
def test_a_pack_with_a_catastrophic_pattern_is_refused(pattern: str, construct: str) -> None:
    """Loading refuses the pack, naming the file, the rule and the construct."""
    with pytest.raises(RuleError) as raised:
        parse_pack(PACK.format(pattern=pattern), "tiny.rules.yaml")
    message = str(raised.value)
    assert "tiny.rules.yaml" in message
    assert "widgets.slow.en" in message
    assert "not provably linear" in message
    assert construct in message


def test_the_same_pack_bounded_loads() -> None:
    """With its repeats bounded and unambiguous, the same rule is accepted."""
    (rule,) = parse_pack(PACK.format(pattern=r"a{1,9}b|forge a widget"), "tiny.rules.yaml")
    assert rule.id == "widgets.slow.en"
