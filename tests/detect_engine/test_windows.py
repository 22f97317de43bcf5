"""Searching only around keyword hits finds exactly what searching the whole text finds."""

from __future__ import annotations

import random
import re
import time

import pytest

from gateway.conversation import normalize_text
from gateway.detect.rules import CompiledKind, Rule, RuleSet, load_rules, rule_matches
from gateway.detect.windows import (
    MAX_WINDOW_CHARS,
    PIECE_STARTS,
    _earliest_cut,
    _trim_front,
    keyword_windows,
    search_windows,
)
from tests.detect.recall import read_corpus

FLAGS = re.IGNORECASE | re.UNICODE
RULES = load_rules()
# Benign look-alikes, full of keywords and matching nothing, spread through neutral text so
# that the windows around their hits stay apart. Longer than any rule's reach.
BENIGN = [normalize_text(sample.text) for sample in read_corpus("corpus_benign.txt")]
NEUTRAL = "lorem ipsum dolor sit amet, consectetur adipiscing elit. "
FILLER_CHARS = 5_000


def filler(rnd: random.Random, size: int) -> str:
    """Neutral text with a benign look-alike every few hundred characters."""
    parts: list[str] = []
    length = 0
    while length < size:
        parts.append(rnd.choice(BENIGN) if rnd.random() < 0.3 else NEUTRAL * rnd.randint(1, 8))
        length += len(parts[-1]) + 1
    return " ".join(parts)


def found(rules: RuleSet, rule: Rule, text: str) -> bool:
    """Whether the engine reports `rule` on `text`."""
    return rule.id in {match.rule_id for match in rules.scan(text, rule.kind)}


def placements(rnd: random.Random, example: str) -> list[str]:
    """The example at the start, in the middle and at the end of long benign text."""
    before, after = filler(rnd, FILLER_CHARS), filler(rnd, FILLER_CHARS)
    return [f"{example} {after}", f"{before} {example} {after}", f"{before} {example}"]


@pytest.mark.parametrize("rule", RULES.rules, ids=lambda rule: rule.id)
def test_windows_find_what_the_whole_text_search_finds(rule: Rule) -> None:
    """Each example, anywhere in long text, is found (or not) as a whole-text search would
    (`rule_matches`: its `unless` weighed)."""
    rnd = random.Random(rule.id)
    alone = CompiledKind([rule])  # its own reach: the narrowest windows
    wrong = []
    for example in (*rule.match, *rule.no_match):
        for text in placements(rnd, normalize_text(example)):
            if bool(alone.scan(text)) != rule_matches(rule, text):
                wrong.append(f"{example!r} at {text.index(normalize_text(example))}")
    assert not wrong, wrong


def test_a_text_whose_folding_changes_length_is_searched_whole() -> None:
    """`ß` folds to `ss`: offsets no longer line up, so the whole text is one window."""
    rule = next(r for r in RULES.rules if r.id == "weapons.make.en")
    text = "Straße " * 1000 + rule.match[0]
    harmful = RULES.by_kind["harmful"]
    plan = keyword_windows(
        harmful._automaton, text, text.casefold(), harmful._reaches, harmful._behinds
    )
    assert {tuple(spans) for spans in plan.values()} == {((0, len(text)),)}
    assert found(RULES, rule, text)


def test_a_keyword_dense_text_is_searched_at_its_two_ends() -> None:
    """Past MAX_WINDOW_CHARS of windows, the head's windows and the text's tail are read."""
    rule = next(r for r in RULES.rules if r.id == "weapons.make.en")
    harmful = RULES.by_kind["harmful"]
    dense = "sarin ricin anthrax " * 50_000
    at_end = dense + rule.match[0]
    plan = keyword_windows(
        harmful._automaton, at_end, at_end.casefold(), harmful._reaches, harmful._behinds
    )
    # The head may pass its half by the windows of the one hit that reached it.
    overshoot = len(harmful.rules) * max(harmful._reaches)
    held = sum(last - first for spans in plan.values() for first, last in spans)
    assert held <= MAX_WINDOW_CHARS + overshoot
    assert max(spans[-1][1] for spans in plan.values()) > len(dense)
    assert found(RULES, rule, at_end)
    assert found(RULES, rule, rule.match[0] + " " + dense)


def test_far_apart_hits_are_all_searched() -> None:
    """Sparse hits across a long text fit the bound: every window is searched, exactly."""
    rule = next(r for r in RULES.rules if r.id == "weapons.make.en")
    gap = "lorem ipsum " * 2_000
    text = f"sarin {gap} " * 10 + rule.match[0] + f" {gap} sarin" * 10
    assert found(RULES, rule, text)


def test_a_long_text_with_few_hits_is_searched_around_them_only() -> None:
    """A megabyte with one request in it costs a small part of searching it whole."""
    rule = next(r for r in RULES.rules if r.id == "weapons.make.en")
    text = "lorem ipsum dolor sit amet " * 40_000 + rule.match[0]
    start = time.perf_counter()
    assert found(RULES, rule, text)
    windowed = time.perf_counter() - start
    harmful = RULES.by_kind["harmful"]
    start = time.perf_counter()
    for i in harmful.armed(text):
        re.compile(harmful.rules[i].pattern, FLAGS).search(text)
    whole = time.perf_counter() - start
    assert windowed < whole / 4


@pytest.mark.parametrize("offset", [-30, -13, -12, -1, 0, 1, 12])
def test_a_long_window_is_searched_in_pieces_that_miss_nothing(offset: int) -> None:
    """A match straddling the cut between two pieces of a long window is found, once."""
    pattern = re.compile(r"\bsarin(?: \w{1,10}){0,3}? nerve\b", FLAGS)
    needle = "sarin and nerve"
    start = PIECE_STARTS + offset
    text = "x" * (start - 1) + " " + needle + " " + "y" * 1000
    window = [(0, len(text))]
    assert search_windows(pattern, text, window, reach=len(needle) + 30)
    assert not search_windows(pattern, text.replace("nerve", "nerf"), window, reach=60)


def _held_after(windows: dict[int, list[list[int]]], cut: int) -> int:
    return sum(max(0, last - max(first, cut)) for own in windows.values() for first, last in own)


@pytest.mark.parametrize("seed", range(200))
def test_the_tail_is_cut_at_the_earliest_position_that_fits_the_budget(seed: int) -> None:
    """Each rule's windows are kept after one cut: the earliest that leaves no more than the
    budget, every window after it whole, the one it falls in shortened."""
    rnd = random.Random(seed)
    windows: dict[int, list[list[int]]] = {}
    for rule in range(rnd.randint(0, 12)):
        position = rnd.randint(0, 60)
        own = windows.setdefault(rule, [])
        for _ in range(rnd.randint(0, 8)):
            first = position + rnd.randint(0, 40)
            position = first + rnd.randint(0, 60)
            own.append([first, position])
            position += 1
    budget = rnd.randint(0, 400)
    before = {rule: [list(span) for span in own] for rule, own in windows.items()}
    cut = _earliest_cut(windows, budget)
    _trim_front(windows, budget)
    firsts = [own[0][0] for own in before.values() if own]
    assert _held_after(windows, 0) == _held_after(before, cut) <= budget
    if firsts and cut > min(firsts):
        assert _held_after(before, cut - 1) > budget
    for rule, own in windows.items():
        assert own == [[max(first, cut), last] for first, last in before[rule] if last > cut]
