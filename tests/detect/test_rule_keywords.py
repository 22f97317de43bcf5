"""Rule keywords are sound: any text a rule's pattern matches holds one of its keywords.

The engine runs a pattern only when the text holds one of the rule's keywords, and only
around their hits, so a keyword set that misses a phrasing the pattern accepts silently
disables the rule for that phrasing. A keyword must lie where the match's attempt reads.
Load time checks the examples; these tests check the corpora and strings sampled from the
patterns themselves.
"""

from __future__ import annotations

import random
import re
from re import _constants as sre  # type: ignore[attr-defined]
from re import _parser as sre_parse  # type: ignore[attr-defined]
from typing import Any

import pytest

from gateway.conversation import normalize_text
from gateway.detect.linear import prove_linear
from gateway.detect.rules import Rule, load_rules
from tests.detect.recall import read_corpus

FLAGS = re.IGNORECASE | re.UNICODE
SAMPLES_PER_RULE = 1200
# Free-text parts of a pattern (\w, ., [^x]) are filled from letters no keyword is made of.
FILLER = "qz"
RULES = load_rules().rules


def armed(rule: Rule, text: str) -> bool:
    """Whether `text` holds one of the rule's keywords, compared as the engine compares."""
    folded = text.casefold()
    return any(keyword.casefold() in folded for keyword in rule.keywords)


def armed_near(rule: Rule, text: str, found: re.Match[str]) -> bool:
    """Whether a keyword lies in what the match's attempt reads: the engine searches only
    around keyword hits (gateway/detect/windows.py)."""
    cost = prove_linear(rule.pattern, FLAGS)
    start = found.start()
    return armed(rule, text[max(0, start - cost.behind) : start + cost.reach])


def sample(items: Any, rnd: random.Random) -> str:
    """A random string shaped by parsed pattern items; assertions and anchors are skipped."""
    return "".join(sample_item(op, av, rnd) for op, av in items)


def sample_item(op: Any, av: Any, rnd: random.Random) -> str:
    """One parsed item as text."""
    if op is sre.LITERAL:
        return chr(av)
    if op in (sre.NOT_LITERAL, sre.ANY):
        return rnd.choice(FILLER)
    if op is sre.IN:
        choices = [chr(a) for o, a in av if o is sre.LITERAL]
        choices += [chr(rnd.randint(a[0], a[1])) for o, a in av if o is sre.RANGE]
        if any(o is sre.NEGATE for o, _ in av) or not choices:
            return rnd.choice(" ," if (sre.CATEGORY, sre.CATEGORY_NOT_WORD) in av else FILLER)
        return rnd.choice(choices)
    if op is sre.BRANCH:
        return sample(rnd.choice(av[1]), rnd)
    if op is sre.SUBPATTERN:
        return sample(av[-1], rnd)
    if op in (sre.MAX_REPEAT, sre.MIN_REPEAT):
        low, high, items = av
        return "".join(sample(items, rnd) for _ in range(rnd.randint(low, min(high, low + 3))))
    return ""


@pytest.mark.parametrize("rule", RULES, ids=lambda rule: rule.id)
def test_every_rule_has_keywords(rule: Rule) -> None:
    """No shipped rule runs on every text."""
    assert rule.keywords


@pytest.mark.parametrize("rule", RULES, ids=lambda rule: rule.id)
def test_keywords_cover_sampled_matches(rule: Rule) -> None:
    """Strings generated from the pattern that it matches each hold one of its keywords."""
    rnd = random.Random(rule.id)
    compiled = re.compile(rule.pattern, FLAGS)
    parsed = sre_parse.parse(rule.pattern, FLAGS)
    matched, unarmed = 0, []
    for _ in range(SAMPLES_PER_RULE):
        text = sample(parsed, rnd)
        for candidate in (text, f"qz {text} qz", f"{text}."):
            if found := compiled.search(candidate):
                matched += 1
                if not armed_near(rule, candidate, found):
                    unarmed.append(candidate)
                break
    assert matched > SAMPLES_PER_RULE // 4, "the sampler rarely produces a match"
    assert not unarmed, f"matches without a keyword: {unarmed[:5]!r}"


def test_keywords_cover_corpus_matches() -> None:
    """Every corpus line a pattern matches holds one of that rule's keywords where it reads."""
    texts = [
        sample.text
        for name in ("benign", "harmful", "crisis")
        for sample in read_corpus(f"corpus_{name}.txt")
    ]
    texts += [example for rule in RULES for example in rule.match]
    unarmed = [
        f"{rule.id}: {text}"
        for rule in RULES
        for text in map(normalize_text, texts)
        if (found := re.search(rule.pattern, text, FLAGS)) and not armed_near(rule, text, found)
    ]
    assert not unarmed, "\n".join(unarmed)
