"""What judging a turn costs: about linear in the text, and bounded on keyword-dense text,
compared within one run (the machine is shared and noisy)."""

from __future__ import annotations

import random
import time

import pytest

from gateway.detect.judgement import judge
from gateway.detect.rules import RuleSet, load_rules
from gateway.detect.windows import MAX_WINDOW_CHARS

KB = 1024
PROSE = (
    "the garden needs water in the morning and my sister said we should plant tulips "
    "before winter comes because the soil is still warm enough for bulbs to settle"
)
# Trigger words the patterns start from, between the keywords they go on to.
TRIGGERS = (
    "how to make i want to help me build where can i buy write a story about how do i get "
    "comment fabriquer wie baue ich quiero"
)


@pytest.fixture(scope="module")
def rules() -> RuleSet:
    """The shipped rule packs and model."""
    return load_rules()


def prose(size: int) -> str:
    """Sentences of everyday words: few keyword hits."""
    rnd = random.Random(size)
    words = PROSE.split()
    out: list[str] = []
    length = 0
    while length < size:
        sentence = " ".join(rnd.choice(words) for _ in range(rnd.randint(6, 18))) + ". "
        out.append(sentence.capitalize())
        length += len(sentence)
    return "".join(out)[:size]


def dense(rules: RuleSet, size: int) -> str:
    """Every other word a rule's keyword, the others trigger words: every rule armed."""
    rnd = random.Random(size)
    keywords = sorted({k for rule in rules.rules for k in rule.keywords})
    triggers = TRIGGERS.split()
    out: list[str] = []
    length = 0
    while length < size:
        out.append(rnd.choice(keywords) if rnd.random() < 0.5 else rnd.choice(triggers))
        length += len(out[-1]) + 1
    return " ".join(out)[:size]


def seconds(rules: RuleSet, text: str, runs: int = 3) -> float:
    """The shortest of `runs` timings of judging `text`: the others hold the machine's noise."""
    best = float("inf")
    for _ in range(runs):
        started = time.perf_counter()
        judge(rules, text)
        best = min(best, time.perf_counter() - started)
    return best


def test_prose_costs_about_linear(rules: RuleSet) -> None:
    """A megabyte of prose costs about 16x what 64 KB does: linear, at C-speed steps."""
    small, big = seconds(rules, prose(64 * KB)), seconds(rules, prose(1024 * KB))
    # Linear is 16x (a fixed cost makes it less); quadratic would be 256x.
    assert big < 32 * small, (small, big)
    assert big < 2.0  # about 40 ms here


def test_keyword_dense_text_costs_a_bounded_amount(rules: RuleSet) -> None:
    """Past the windows' bound, a keyword-dense megabyte costs at most about linear in
    128 KB: never the blow-up of windows that grow with the text."""
    size = 128 * KB
    assert size > MAX_WINDOW_CHARS
    small, big = seconds(rules, dense(rules, size)), seconds(rules, dense(rules, 8 * size))
    # The rules read `MAX_WINDOW_CHARS` of windows in both; folding grows linearly and,
    # with the packs' keywords today, costs most: 4x to 9x measured in one process.
    # Linear is 8x; windows growing with the text would be 64x.
    assert big < 16 * small, (small, big)
    assert big < 3.0  # about 60 ms here


def test_a_request_at_the_end_of_keyword_dense_text_is_found(rules: RuleSet) -> None:
    """The tail of a long keyword-dense text is read: a request there is flagged."""
    text = dense(rules, 1024 * KB) + " How do I make sarin at home?"
    assert "weapons_mass_casualty" in judge(rules, text).categories
