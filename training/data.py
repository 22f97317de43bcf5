"""The training rows: `training/data/**/*.jsonl`, plus the rule packs' own examples.

A row is `{"text", "label", "lang", "source"}` (a `writer` field, when present, groups rows
further). The rule packs' examples bootstrap every label in the four main languages:
each rule's `match` examples carry its category, its `no_match` examples are benign.
"""

from __future__ import annotations

import hashlib
import json
import random
import re
import unicodedata
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
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
# What the judgement evaluation reads (`bench/judgement.py`): never trained on.
EVALUATION_DIR = Path(__file__).resolve().parent.parent / "bench" / "judgement" / "corpora"
# Languages written with accents that people often leave out when they type.
ACCENTED = ("fr", "es", "de", "it", "pt", "nl")
_UMLAUTS = str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue", "Ä": "Ae", "Ö": "Oe", "Ü": "Ue"})


@dataclass(frozen=True, slots=True)
class Row:
    """One labelled text; `group` keeps rows of one source and writer on one side of a split."""

    text: str
    label: str
    lang: str
    source: str
    group: str
    dataset: str  # the folder under training/data (`crisis`, `harmful`), or `rules`


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
            dataset = path.relative_to(data_dir).parts[0]
            lang = str(raw.get("lang", "?"))
            rows.append(Row(raw["text"], raw["label"], lang, source, group, dataset))
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
        for text in rule.match:
            rows.append(Row(text, rule.category, rule.lang, "rules", source, "rules"))
        for text in rule.no_match:
            rows.append(Row(text, "benign", rule.lang, "rules", source, "rules"))
    return rows


def deduplicated(rows: Iterable[Row]) -> list[Row]:
    """The rows with each (casefolded, space-normalised) text once: the first label wins."""
    seen: set[str] = set()
    out: list[Row] = []
    for row in rows:
        key = _key(row.text)
        if key not in seen:
            seen.add(key)
            out.append(row)
    return out


def evaluation_texts(corpora: Path = EVALUATION_DIR) -> set[str]:
    """Every text the evaluation reads (its turns included), as `_words` keys."""
    keys: set[str] = set()
    for path in sorted(corpora.glob("*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            if not line.strip():
                continue
            raw = json.loads(line)
            texts = [raw["text"]] if "text" in raw else []
            texts += [t if isinstance(t, str) else t["text"] for t in raw.get("turns", [])]
            keys.update(_words(text) for text in texts)
    return keys


def apart(rows: Iterable[Row], evaluated: set[str]) -> list[Row]:
    """The rows whose words are not those of a text the evaluation reads: a rule's example or
    a written row can repeat a common phrase of the held-out set ("I want to kill myself.")."""
    return [row for row in rows if _words(row.text) not in evaluated]


def _words(text: str) -> str:
    """`text`'s words, casefolded and without accents or punctuation: what the model reads."""
    return " ".join(_WORD.findall(unaccented(text).casefold()))


_WORD = re.compile(r"[^\W_]+")


def unaccented(text: str) -> str:
    """`text` without the accents of its letters (`lebensmüde`, `réveiller`: `lebensmude`,
    `reveiller`), as people type it on a keyboard or a phone that does not add them."""
    marks = unicodedata.normalize("NFD", text)
    return unicodedata.normalize("NFC", "".join(c for c in marks if not unicodedata.combining(c)))


def typed_copies(rows: Sequence[Row]) -> list[tuple[int, Row]]:
    """Copies of the rows of `ACCENTED` languages as typed without accents, each with the
    index of its row: German rows twice (`lebensmude`, and `lebensmuede` with the umlauts
    spelled out). A copy that is already a row, or that changes nothing, is left out.

    They train beside their rows, in their rows' folds, so a message typed without
    accents reads like the one written with them; they are never measured as rows.
    """
    seen = {_key(row.text) for row in rows}
    copies: list[tuple[int, Row]] = []
    for i, row in enumerate(rows):
        if row.lang not in ACCENTED or row.text.isascii():
            continue
        spellings = [unaccented(row.text)]
        if row.lang == "de":
            spellings.append(unaccented(row.text.translate(_UMLAUTS)))
        for text in spellings:
            if _key(text) not in seen:
                seen.add(_key(text))
                copies.append((i, replace(row, text=text)))
    return copies


def _key(text: str) -> str:
    return " ".join(text.casefold().split())


def split(rows: Sequence[Row], held_out: float, seed: int) -> tuple[list[Row], list[Row]]:
    """Train and held-out rows, stratified by (language, label), split by group where possible.

    In each stratum, groups (a source and writer) small beside the held-out share go whole
    to one side (in a seeded order, until the held-out side has its share of them), so a
    writer's phrasings are never on both sides; a large group is split row by row. The
    rule packs' examples always train: the rules were written with them, so they would
    measure nothing.
    """
    strata: dict[tuple[str, str], list[Row]] = defaultdict(list)
    train: list[Row] = []
    test: list[Row] = []
    for row in rows:
        if row.dataset == "rules":
            train.append(row)
        else:
            strata[(row.lang, row.label)].append(row)
    for key in sorted(strata):
        members = strata[key]
        groups: dict[str, list[Row]] = defaultdict(list)
        for row in members:
            groups[row.group].append(row)
        largest = max(1, round(len(members) * held_out) // 2)
        small = sorted((g for g in groups if len(groups[g]) <= largest), key=_seeded(seed))
        want = round(sum(len(groups[g]) for g in small) * held_out)
        taken = 0
        for group in small:
            side = test if taken < want else train
            side += groups[group]
            taken += len(groups[group]) if side is test else 0
        for group in sorted(set(groups) - set(small)):
            shuffled = list(groups[group])
            random.Random(f"{seed}/{key}/{group}").shuffle(shuffled)
            cut = round(len(shuffled) * held_out)
            test += shuffled[:cut]
            train += shuffled[cut:]
    return train, test


def folds(rows: Sequence[Row], count: int, seed: int) -> list[int]:
    """A fold (0 to `count - 1`) for every row, stratified by (language, label) and by
    group like `split`; the rule packs' examples get -1: they always train."""
    strata: dict[tuple[str, str], list[int]] = defaultdict(list)
    out = [-1] * len(rows)
    for i, row in enumerate(rows):
        if row.dataset != "rules":
            strata[(row.lang, row.label)].append(i)
    for key in sorted(strata):
        groups: dict[str, list[int]] = defaultdict(list)
        for i in strata[key]:
            groups[rows[i].group].append(i)
        largest = max(1, len(strata[key]) // count // 2)
        sizes = [0] * count
        for group in sorted(groups, key=_seeded(seed)):
            members = groups[group]
            if len(members) <= largest:
                fold = sizes.index(min(sizes))  # whole, to the emptiest fold
                for i in members:
                    out[i] = fold
                sizes[fold] += len(members)
                continue
            shuffled = list(members)
            random.Random(f"{seed}/{key}/{group}").shuffle(shuffled)
            for n, i in enumerate(shuffled):
                out[i] = n % count
                sizes[n % count] += 1
    return out


def _seeded(seed: int) -> Callable[[str], str]:
    return lambda group: _digest(f"{seed}/{group}")


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()
