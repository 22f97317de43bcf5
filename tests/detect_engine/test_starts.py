"""The start texts of a pattern: every match begins with one of them, whatever the text."""
# ruff: noqa: RUF001, RUF003 - case variants are this module's subject.

from __future__ import annotations

import random
import re
import shutil
from pathlib import Path

import pytest

from gateway.cli import main
from gateway.detect.rules import DEFAULT_RULES_DIR, CompiledKind, Rule, load_rules, rule_matches
from gateway.detect.starts import STARTS_CHARS, STARTS_LIMIT, Starts, starts

FLAGS = re.IGNORECASE | re.UNICODE
RULES = load_rules()


def begins_well(found: Starts | None, text: str, position: int) -> bool:
    """Whether a match at `position` of `text` is one the start texts allow for."""
    if found is None:
        return True
    folded = text.casefold()
    assert len(folded) == len(text), "a test text must keep its length when casefolded"
    return (found.at_start and position == 0) or any(
        folded.startswith(start, position) for start in found.texts
    )


def test_a_pattern_opening_on_words_starts_with_them() -> None:
    assert starts(r"\b(?:how|where)\W{1,3}to", FLAGS) == Starts(frozenset({"how", "wher"}), False)


@pytest.mark.parametrize(
    ("pattern", "expected"),
    [
        # `re` matches `i` to the dotless `ı`, and to `İ` (casefolded: `i` and a dot).
        (r"\bkill", {"kill", "k\u0131ll", "ki\u0307l"}),
        (r"(?<!\w)[ée]cri[st]", {"écri", "ecri", "écrı", "ecrı"}),
        (r"(?=x)ab(?:cd)?", {"ab"}),  # `ab` begins `abcd`: it stands for both
        (r"a\W{1,3}b", {"a"}),  # a category ends a text early
        (r"(?:ab){2}", {"abab"}),
        (r"ab?c", {"abc", "ac"}),
    ],
)
def test_texts_follow_the_parsed_pattern(pattern: str, expected: set[str]) -> None:
    found = starts(pattern, FLAGS)
    assert found is not None
    assert set(found.texts) == expected
    assert not found.at_start


def test_case_variants_that_re_adds_are_among_the_texts() -> None:
    """`re` matches `s` to the long s and `k` to the Kelvin sign: both casefold into the
    texts (Kelvin to `k`), so a match on either is still found."""
    found = starts("sk", FLAGS)
    assert found is not None
    for text in ("\u017fk", "s\u212a", "SK"):
        assert re.match("sk", text, FLAGS)
        assert begins_well(found, text, 0)


def test_a_branch_opening_on_a_caret_starts_the_text_only() -> None:
    found = starts(r"(?:^|[.!] )\W{0,3}go\b", FLAGS)
    assert found is not None and found.at_start
    # A text that begins another stands for both.
    assert set(found.texts) == {". ", "! "}
    # Past the start `^` never matches, so nothing read before it makes a text.
    assert starts(r"a^b", FLAGS) == Starts(frozenset(), False)


@pytest.mark.parametrize(
    "pattern",
    [r"\w{1,5}ing", r".{0,9}x", r"a?", r"[^x]y", r"\bfoo|\d"],
)
def test_patterns_that_may_start_anywhere_have_no_texts(pattern: str) -> None:
    assert starts(pattern, FLAGS) is None


def test_a_letter_re_lowers_differently_from_str_is_still_found() -> None:
    """`re` lowers `İ` to `i` one character at a time (`str.lower` gives two): a rule
    written with it still finds the plain word."""
    rule = Rule("t.izmir", "test", "harmful", "en", r"\bİzmir", ("İzmir",), ("x",))
    assert CompiledKind([rule]).scan("go to izmir")
    assert CompiledKind([rule]).scan("GO TO IZMIR")


def test_flags_a_group_sets_hold_inside_it() -> None:
    """`(?m:^)` matches after every line break: no start-of-text-only reading of it."""
    rule = Rule("t.kill", "test", "harmful", "en", r"(?m:^)kill\b", ("kill",), ("x",), ("kill",))
    assert CompiledKind([rule]).scan("hello\nkill")
    assert starts(r"(?m:^)kill", FLAGS) == Starts(
        frozenset({"kill", "k\u0131ll", "ki\u0307l"}), False
    )
    # Case-sensitive inside the group: still an over-approximation, casefolded.
    assert starts(r"(?-i:K)ab", FLAGS) == Starts(frozenset({"kab"}), False)


def test_a_caret_after_a_line_break_is_no_start() -> None:
    """With MULTILINE, `^` matches after every line break: the match still begins `go`."""
    assert starts(r"(?m)^go", FLAGS) == Starts(frozenset({"go"}), False)
    assert starts(r"(?m)(?-m:^)go", FLAGS) == Starts(frozenset(), True)


def test_too_many_texts_are_cut_shorter() -> None:
    found = starts("[a-h]" * 5, FLAGS)  # 8 ** 4 texts of four letters
    assert found is not None
    assert len(found.texts) <= STARTS_LIMIT
    assert max(map(len, found.texts)) < STARTS_CHARS


# --- Random patterns against random texts --------------------------------------------

ATOMS = ["a", "b", "i", "s", "k", "İ", "[ab]", "[éa]", r"\W", ".", r"\b", "(?=a)", "(?<!b)", " "]
TEXT_CHARS = "abisk ISK\u0131\u017f\u212a.é\n\u0130"
GROUPS = ["(?:", "(?m:", "(?-i:", "(?>"]


def random_pattern(rnd: random.Random, depth: int = 0) -> str:
    parts = []
    for _ in range(rnd.randint(1, 4)):
        roll = rnd.random()
        if roll < 0.15 and depth < 2:
            branches = [random_pattern(rnd, depth + 1) for _ in range(rnd.randint(1, 3))]
            part = rnd.choice(GROUPS) + "|".join(branches) + ")"
        elif roll < 0.2:
            part = "^"
        else:
            part = rnd.choice(ATOMS)
        if rnd.random() < 0.25 and part not in (r"\b", "^", "(?=a)", "(?<!b)"):
            low = rnd.randint(0, 2)
            part = f"(?:{part}){{{low},{low + rnd.randint(0, 3)}}}"
        parts.append(part)
    return "".join(parts)


def test_every_match_of_random_patterns_begins_with_a_start_text() -> None:
    rnd = random.Random(7)
    checked = 0
    for _ in range(1500):
        pattern = random_pattern(rnd)
        found = starts(pattern, FLAGS)
        compiled = re.compile(pattern, FLAGS)
        for _ in range(20):
            text = "".join(rnd.choice(TEXT_CHARS) for _ in range(rnd.randint(0, 14)))
            if len(text.casefold()) != len(text):
                continue  # searched at every position: the start texts are not used
            for position in range(len(text) + 1):
                if compiled.match(text, position) is not None:
                    checked += 1
                    assert begins_well(found, text, position), (pattern, text, position)
    assert checked > 10_000


@pytest.mark.parametrize("rule", RULES.rules, ids=lambda rule: rule.id)
def test_every_match_of_a_shipped_rule_begins_with_a_start_text(rule: Rule) -> None:
    """On its examples, upper-cased too, and after other words."""
    found = starts(rule.pattern, FLAGS)
    assert found is not None, f"{rule.id} may start anywhere: it is searched at every position"
    compiled = re.compile(rule.pattern, FLAGS)
    for example in rule.match:
        for text in (example, example.upper(), f"so, {example}"):
            if len(text.casefold()) != len(text):
                continue
            hits = [p for p in range(len(text) + 1) if compiled.match(text, p) is not None]
            assert hits or text is not example
            assert all(begins_well(found, text, p) for p in hits), (text, hits)


def test_the_anchored_search_finds_what_a_search_of_the_text_finds() -> None:
    """Each rule alone, on its examples among other words: `scan` (windows and start
    texts) reports it exactly when a search of the whole text finds it (`rule_matches`:
    `re.search`, its `unless` weighed)."""
    rnd = random.Random(3)
    examples = [e for rule in RULES.rules for e in (*rule.match, *rule.no_match)]
    for rule in RULES.rules:
        alone = CompiledKind([rule])
        for example in (*rule.match, *rule.no_match):
            text = " ".join([*rnd.sample(examples, 3), example, *rnd.sample(examples, 3)])
            assert bool(alone.scan(text)) == rule_matches(rule, text), (rule.id, text)


def test_rules_test_names_the_rules_that_may_start_anywhere(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`lastword rules test` lists a rule whose pattern opens on no word: it costs more."""
    folder = tmp_path / "rules"
    shutil.copytree(DEFAULT_RULES_DIR, folder)
    (folder / "extra.rules.yaml").write_text(
        "categories:\n"
        "  - name: weapons_mass_casualty\n"
        "    kind: harmful\n"
        "    rules:\n"
        "      - id: extra.anywhere\n"
        "        keywords: [sarin]\n"
        "        pattern: '\\w{1,20} sarin at home'\n"
        "        examples: {match: ['brew sarin at home'], no_match: ['sarin history']}\n"
    )
    assert main(["rules", "test", "--rules", str(folder)]) == 0
    notes = [line for line in capsys.readouterr().out.splitlines() if "open on no word" in line]
    assert len(notes) == 1
    assert notes[0].endswith(": extra.anywhere")
