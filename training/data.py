"""The training rows: `training/data/**/*.jsonl`, plus the rule packs' own examples.

A row is `{"text", "label", "lang", "source"}` (a `writer` field, when present, groups rows
further). The rule packs' examples bootstrap every label in the four main languages:
each rule's `match` examples carry its category, its `no_match` examples are benign.
"""

from __future__ import annotations

import hashlib
import json
import random
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from gateway.detect.rules import DEFAULT_RULES_DIR, Rule, pack_files, parse_pack

LABELS: tuple[str, ...] = (
    "self_harm_suicide",
    "harm_to_others",
    "distress",
    "benign",
    "csam",
    "weapons_mass_casualty",
    "terrorism_violence",
    "abuse_of_assistant",
)
CRISIS = ("self_harm_suicide", "harm_to_others")
HARMFUL = ("csam", "weapons_mass_casualty", "terrorism_violence", "abuse_of_assistant")
DATA_DIR = Path(__file__).resolve().parent / "data"


@dataclass(frozen=True, slots=True)
class Row:
    """One labelled text; `group` keeps rows of one source and writer on one side of a split."""

    text: str
    label: str
    lang: str
    source: str
    group: str


def read_rows(data_dir: Path = DATA_DIR) -> list[Row]:
    """Every row of every JSON Lines file under `data_dir`; raise ValueError on a bad row."""
    rows: list[Row] = []
    for path in sorted(data_dir.rglob("*.jsonl")):
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if not line.strip():
                continue
            raw = json.loads(line)
            where = f"{path}:{number}"
            if raw.get("label") not in LABELS or not isinstance(raw.get("text"), str):
                raise ValueError(f"{where}: needs a `text` and a `label` among {LABELS}")
            source = str(raw.get("source", path.stem))
            group = f"{source}/{raw['writer']}" if raw.get("writer") else source
            rows.append(Row(raw["text"], raw["label"], str(raw.get("lang", "?")), source, group))
    return rows


def rule_rows(rules_dir: Path = DEFAULT_RULES_DIR) -> list[Row]:
    """The rule packs' examples as rows: `match` under the rule's category, `no_match` benign."""
    rules: list[Rule] = []
    for path in pack_files(rules_dir):
        rules += parse_pack(path.read_text(encoding="utf-8"), path.name)
    rows: list[Row] = []
    for rule in rules:
        if rule.kind == "refusal" or rule.category not in LABELS:
            continue
        source = f"rules/{rule.id}"
        rows += [Row(text, rule.category, rule.lang, "rules", source) for text in rule.match]
        rows += [Row(text, "benign", rule.lang, "rules", source) for text in rule.no_match]
    return rows


def deduplicated(rows: Iterable[Row]) -> list[Row]:
    """The rows with each (casefolded, space-normalised) text once: the first label wins."""
    seen: set[str] = set()
    out: list[Row] = []
    for row in rows:
        key = " ".join(row.text.casefold().split())
        if key not in seen:
            seen.add(key)
            out.append(row)
    return out


def split(rows: Sequence[Row], held_out: float, seed: int) -> tuple[list[Row], list[Row]]:
    """Train and held-out rows, stratified by (language, label), split by group where possible.

    In a stratum with at least five groups, whole groups go to the held-out side (in a
    seeded order, until it holds its share), so a writer's phrasings are never on both
    sides; in a stratum with fewer groups, rows are drawn one by one.
    """
    strata: dict[tuple[str, str], list[Row]] = defaultdict(list)
    for row in rows:
        strata[(row.lang, row.label)].append(row)
    train: list[Row] = []
    test: list[Row] = []
    for key in sorted(strata):
        members = strata[key]
        rng = random.Random(f"{seed}/{key}")
        groups: dict[str, list[Row]] = defaultdict(list)
        for row in members:
            groups[row.group].append(row)
        want = round(len(members) * held_out)
        if len(groups) >= 5:
            order = sorted(groups, key=lambda g: _digest(f"{seed}/{g}"))
            taken = 0
            for group in order:
                side = test if taken < want else train
                side += groups[group]
                taken += len(groups[group]) if side is test else 0
        else:
            shuffled = list(members)
            rng.shuffle(shuffled)
            test += shuffled[:want]
            train += shuffled[want:]
    return train, test


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()
