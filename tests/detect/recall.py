"""Per-category recall of the shipped rule packs on the test corpora, printed as a table.

Usage: python -m tests.detect.recall [RULES_DIR]
"""

from __future__ import annotations

import sys
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from gateway.conversation import normalize_text
from gateway.detect.folding import fold
from gateway.detect.rules import Kind, RuleSet, load_rules

CORPUS_DIR = Path(__file__).resolve().parent


@dataclass(frozen=True, slots=True)
class Sample:
    """One corpus line: its expected category (empty for benign), language and text."""

    category: str
    lang: str
    text: str


def read_corpus(name: str) -> list[Sample]:
    """The samples of one corpus file: `lang<TAB>text` or `category<TAB>lang<TAB>text`."""
    samples = []
    for number, line in enumerate((CORPUS_DIR / name).read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        fields = line.split("\t")
        if len(fields) == 2:
            samples.append(Sample("", fields[0], fields[1]))
        elif len(fields) == 3:
            samples.append(Sample(*fields))
        else:
            raise ValueError(f"{name}:{number}: expected 2 or 3 tab-separated fields")
    return samples


def categories_found(rules: RuleSet, text: str, kind: Kind) -> set[str]:
    """The categories of `kind` that match `text`, scanned the way the gateway scans a turn."""
    return {match.category for match in rules.scan(fold(normalize_text(text)), kind)}


@dataclass(frozen=True, slots=True)
class Recall:
    """How many samples of one category the rules caught."""

    category: str
    caught: int
    total: int

    @property
    def ratio(self) -> float:
        """Caught over total."""
        return self.caught / self.total if self.total else 0.0


def recall(rules: RuleSet, samples: Iterable[Sample], kind: Kind) -> list[Recall]:
    """Per-category recall: a sample counts when its own category is among the matches."""
    caught: Counter[str] = Counter()
    total: Counter[str] = Counter()
    for sample in samples:
        total[sample.category] += 1
        if sample.category in categories_found(rules, sample.text, kind):
            caught[sample.category] += 1
    return [Recall(category, caught[category], total[category]) for category in sorted(total)]


def table(rows: Iterable[Recall]) -> str:
    """A plain-text table, one category per line."""
    lines = [f"{'category':<24} {'caught':>6} {'total':>6} {'recall':>7}"]
    lines += [f"{r.category:<24} {r.caught:>6} {r.total:>6} {r.ratio:>7.2f}" for r in rows]
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    """Print the recall table for the harmful and the crisis corpus."""
    rules = load_rules(Path(argv[0]) if argv else None)
    rows = recall(rules, read_corpus("corpus_harmful.txt"), "harmful")
    rows += recall(rules, read_corpus("corpus_crisis.txt"), "crisis")
    print(table(rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
