"""Every shipped rule scans adversarial text in linear time: bounded, and growing linearly.

The texts are built generically from each rule's own keywords and the literal words of its
pattern (keyword-dense runs, long runs of separators, long words, near misses sampled from
the pattern), never picked by hand for a rule. Before the patterns were proven linear at
load, `weapons.make.en` took 8.8 s on 6 KB of `. . .` and never finished 100 KB.
"""

from __future__ import annotations

import random
import re
import time
from collections.abc import Callable
from re import _constants as sre  # type: ignore[attr-defined]
from re import _parser as sre_parse  # type: ignore[attr-defined]
from typing import Any

import pytest

from gateway.detect.rules import Rule, RuleSet, load_rules
from tests.detect.test_rule_keywords import sample

FLAGS = re.IGNORECASE | re.UNICODE
BIG = 100_000
SMALL = BIG // 4
# Generous for a busy 2-core machine: the slowest rule takes about 0.2 s on 100 KB here.
BOUND_SECONDS = 1.0
# Linear growth is 4x from 25 KB to 100 KB, quadratic 16x. Growth is judged once the big
# text takes a measurable time: below that, timer and scheduler noise dominate.
MAX_GROWTH = 8.0
MEASURABLE_SECONDS = 0.05
SEPARATORS = (" ", ". ", ", ", "! ", " - ", "' ", "!!!!!!!!", ". . . . ", "?! ", ": ")
RULES = load_rules().rules


def pattern_words(items: Any, out: set[str]) -> set[str]:
    """The runs of literal characters (two or more) anywhere in a parsed pattern."""
    run: list[str] = []
    for op, av in [*items, (None, None)]:
        if op is sre.LITERAL:
            run.append(chr(av))
            continue
        if len(run) >= 2 and "".join(run).strip():
            out.add("".join(run).strip())
        run = []
        if op is sre.BRANCH:
            for alternative in av[1]:
                pattern_words(alternative, out)
        elif op is sre.SUBPATTERN:
            pattern_words(av[-1], out)
        elif op in (sre.MAX_REPEAT, sre.MIN_REPEAT, sre.POSSESSIVE_REPEAT):
            pattern_words(av[2], out)
        elif op in (sre.ASSERT, sre.ASSERT_NOT):
            pattern_words(av[1], out)
        elif op is sre.ATOMIC_GROUP:
            pattern_words(av, out)
    return out


def adversaries(rule: Rule) -> dict[str, Callable[[], str]]:
    """Generators of text pieces that make the rule's pattern work hard."""
    rnd = random.Random(rule.id)
    parsed = sre_parse.parse(rule.pattern, FLAGS)
    compiled = re.compile(rule.pattern, FLAGS)
    keywords = list(rule.keywords)
    words = sorted(pattern_words(parsed, set())) + keywords
    near: list[str] = []
    for _ in range(300):
        text = sample(parsed, rnd)
        if len(text) > 2 and compiled.search(text):
            near += [text[:-1], text[1:]]
    near = near or words
    return {
        "keywords": lambda: rnd.choice(keywords) + " ",
        "keywords_sentences": lambda: rnd.choice(keywords) + ". ",
        "pattern_words": lambda: rnd.choice(words) + " ",
        "separator_runs": lambda: rnd.choice(words) + rnd.choice(SEPARATORS) * rnd.randint(1, 30),
        "long_words": lambda: rnd.choice(words) + "a" * rnd.randint(30, 400) + " é" * 3 + " ",
        "near_misses": lambda: rnd.choice(near) + rnd.choice(SEPARATORS),
        "dots": lambda: ". ",
    }


def build(piece: Callable[[], str], size: int) -> str:
    """Text of exactly `size` characters made of pieces."""
    parts: list[str] = []
    length = 0
    while length < size:
        parts.append(piece())
        length += len(parts[-1])
    return "".join(parts)[:size]


def seconds(pattern: re.Pattern[str], text: str, runs: int = 1) -> float:
    """The best time of `runs` searches of `text`."""
    best = float("inf")
    for _ in range(runs):
        start = time.perf_counter()
        pattern.search(text)
        best = min(best, time.perf_counter() - start)
    return best


def too_slow(small: float, big: float) -> bool:
    """Over the bound, or measurably growing faster than linearly."""
    growing = big > MEASURABLE_SECONDS and big > MAX_GROWTH * small
    return big > BOUND_SECONDS or growing


@pytest.mark.parametrize("rule", RULES, ids=lambda rule: rule.id)
def test_adversarial_text_is_scanned_in_linear_time(rule: Rule) -> None:
    """100 KB of each adversary scans well under a second, and 4x the text costs about 4x."""
    compiled = re.compile(rule.pattern, FLAGS)
    slow = []
    for name, piece in adversaries(rule).items():
        text = build(piece, BIG)
        big = seconds(compiled, text)
        small = seconds(compiled, text[:SMALL])
        if too_slow(small, big):  # measure again before judging
            big = seconds(compiled, text, runs=3)
            small = seconds(compiled, text[:SMALL], runs=3)
        if too_slow(small, big):
            slow.append(f"{name}: {SMALL} chars {small:.3f}s, {BIG} chars {big:.3f}s")
    assert not slow, "\n".join(slow)


def test_a_megabyte_of_every_keyword_scans_in_bounded_time() -> None:
    """The whole rule set scans 1 MB dense with every rule's keywords and words, boundedly."""
    rules: RuleSet = load_rules()
    rnd = random.Random(1)
    vocabulary = sorted(
        {
            word
            for rule in rules.rules
            for word in pattern_words(sre_parse.parse(rule.pattern, FLAGS), set(rule.keywords))
        }
    )
    # Each rule's shortest keyword once at the start, then the dense rest: random words alone
    # leave a rule or two unarmed now and then (a vocabulary of thousands, some keywords of
    # two words), and every keyword of 500 rules at the start fills the windows' budget
    # before the last rules are armed.
    keywords = " ".join(min(rule.keywords, key=len) for rule in rules.rules)
    text = (
        keywords + " " + build(lambda: rnd.choice(vocabulary) + rnd.choice(SEPARATORS), 1_000_000)
    )
    for kind in ("harmful", "crisis"):
        assert len(rules.by_kind[kind].armed(text)) == len(rules.by_kind[kind].rules)
    start = time.perf_counter()
    rules.scan_user_turn(text)
    rules.scan(text, "refusal")
    # About 10 s here: every rule is armed and searches the whole megabyte once. Before the
    # patterns were bounded, 100 KB of ". " alone never finished.
    assert time.perf_counter() - start < 60
