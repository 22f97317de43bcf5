"""Train, compare, measure and export the embedded classifier.

    python -m training.train            # compare techniques, pick one, export the model
    python -m training.train --quick    # the chosen technique only

Reads `training/data/**/*.jsonl` and the rule packs' examples (`training.data`), splits a
held-out part by writer and source (stratified by language and label), compares the
techniques below on it, chooses thresholds on it for the chosen one, measures it per
language and label, then refits on every row and writes:
- `gateway/detect/weights/model.npz`: the model the gateway serves;
- `training/report.md`: the comparison and the measured quality (for docs/model-card.md);
- `tests/detect_model/trainer_scores.json`: texts and the trainer's scores, which the
  tests check serving reproduces.
Every step is seeded: the same data gives the same model.
"""

from __future__ import annotations

import argparse
import hashlib
import json
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from gateway.detect.features import Floats
from gateway.detect.folding import fold
from gateway.detect.model import TextModel, save_model, shipped_model_file
from gateway.detect.rules import load_rules
from training.data import CRISIS, HARMFUL, LABELS, Row, deduplicated, read_rows, rule_rows, split
from training.fit import Fitted, Technique, fit

ROOT = Path(__file__).resolve().parents[1]
REPORT = ROOT / "training" / "report.md"
FIXTURE = ROOT / "tests" / "detect_model" / "trainer_scores.json"

TECHNIQUES = (
    Technique("char 2-5 + LR", words=False, learner="lr", c=10.0, balanced=True),
    Technique("char 2-5 + words + LR", words=True, learner="lr", c=10.0, balanced=True),
    Technique(
        "char 2-5 + words + LR, unweighted", words=True, learner="lr", c=10.0, balanced=False
    ),
    Technique("char 2-5 + words + linear SVM", words=True, learner="svm", c=0.5, balanced=True),
)
CHOSEN = TECHNIQUES[1]
# The share of negatives a level may flag on the held-out split, when thresholds are chosen.
FALSE_POSITIVES = {"crisis": 0.02, "distress": 0.06, "harmful": 0.01}
FLOOR = 0.05  # no threshold below this, whatever the split says


def threshold_at(negatives: Floats, share: float) -> float:
    """The lowest threshold that flags at most `share` of the `negatives` scores."""
    if not len(negatives):
        return 0.5
    ranked = np.sort(negatives)[::-1]
    allowed = int(share * len(ranked))
    if allowed >= len(ranked):
        return FLOOR
    return float(max(FLOOR, np.nextafter(ranked[allowed], np.float32(1.0))))


def choose_thresholds(rows: Sequence[Row], scores: Floats) -> dict[str, dict[str, float]]:
    """Per level, per category: the threshold meeting that level's false-positive share."""
    labels = np.asarray([row.label for row in rows])
    out: dict[str, dict[str, float]] = {"crisis": {}, "distress": {}, "harmful": {}}
    not_crisis = ~np.isin(labels, CRISIS)
    not_harmful = ~np.isin(labels, HARMFUL)
    for category in CRISIS:
        column = scores[:, LABELS.index(category)][not_crisis]
        out["crisis"][category] = threshold_at(column, FALSE_POSITIVES["crisis"])
        distress = threshold_at(column, FALSE_POSITIVES["distress"])
        out["distress"][category] = min(distress, out["crisis"][category])
    for category in HARMFUL:
        column = scores[:, LABELS.index(category)][not_harmful]
        out["harmful"][category] = threshold_at(column, FALSE_POSITIVES["harmful"])
    return out


def flagged(scores: Floats, thresholds: Mapping[str, float]) -> np.ndarray:
    """Per row: whether any of `thresholds`' categories is over its threshold."""
    hit = np.zeros(len(scores), bool)
    for category, threshold in thresholds.items():
        hit |= scores[:, LABELS.index(category)] >= threshold
    return hit


def own(scores: Floats, rows: Sequence[Row], thresholds: Mapping[str, float]) -> np.ndarray:
    """Per row: whether its own label is over that label's threshold."""
    return np.asarray(
        [
            row.label in thresholds and scores[i, LABELS.index(row.label)] >= thresholds[row.label]
            for i, row in enumerate(rows)
        ]
    )


def rule_flags(rows: Sequence[Row]) -> tuple[np.ndarray, np.ndarray]:
    """Per row: whether the shipped rule packs flag it (harmful, crisis)."""
    rules = load_rules()
    harmful, crisis = [], []
    for row in rows:
        h, c = rules.scan_user_turn(fold(row.text))
        harmful.append(bool(h))
        crisis.append(bool(c))
    return np.asarray(harmful), np.asarray(crisis)


def summary(
    rows: Sequence[Row], scores: Floats, thresholds: Mapping[str, Mapping[str, float]]
) -> str:
    """Per language and label: the rows held out, and what the model (and the rules) flag."""
    rule_harmful, rule_crisis = rule_flags(rows)
    crisis = flagged(scores, thresholds["crisis"])
    distress = flagged(scores, thresholds["distress"])
    harmful = flagged(scores, thresholds["harmful"])
    own_harmful = own(scores, rows, thresholds["harmful"])
    lines = [
        "| lang | label | n | model: crisis | model: distress | model: harmful (own category) "
        "| model+rules: crisis | model+rules: distress | model+rules: harmful |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    langs = sorted({row.lang for row in rows}, key=lambda lang: (lang not in "en fr es de", lang))
    for lang in langs:
        for label in LABELS:
            pick = np.asarray([row.lang == lang and row.label == label for row in rows])
            n = int(pick.sum())
            if not n:
                continue

            def pct(hit: np.ndarray, pick: np.ndarray = pick) -> str:
                return f"{100 * hit[pick].mean():.0f}%"

            lines.append(
                f"| {lang} | {label} | {n} | {pct(crisis)} | {pct(distress)} "
                f"| {pct(harmful)} ({pct(own_harmful)}) | {pct(crisis | rule_crisis)} "
                f"| {pct(distress | rule_crisis)} | {pct(harmful | rule_harmful)} |"
            )
    return "\n".join(lines)


def comparison(train: Sequence[Row], test: Sequence[Row], seed: int) -> tuple[str, Fitted]:
    """Every technique fitted on `train` and measured on `test`; the chosen one's fit."""
    lines = [
        "| technique | crisis recall at 2% FP | distress recall at 6% FP "
        "| harmful recall at 1% FP (mean of categories) | features |",
        "| --- | ---: | ---: | ---: | ---: |",
    ]
    chosen: Fitted | None = None
    labels = np.asarray([row.label for row in test])
    for technique in TECHNIQUES:
        fitted = fit([r.text for r in train], [r.label for r in train], LABELS, technique, seed)
        scores = fitted.scores([r.text for r in test])
        thresholds = choose_thresholds(test, scores)
        is_crisis = np.isin(labels, CRISIS)
        crisis = flagged(scores, thresholds["crisis"])[is_crisis].mean()
        distress = flagged(scores, thresholds["distress"])[is_crisis].mean()
        own_harmful = own(scores, test, thresholds["harmful"])
        harmful = np.mean([own_harmful[labels == c].mean() for c in HARMFUL if (labels == c).any()])
        lines.append(
            f"| {technique.name} | {100 * crisis:.1f}% | {100 * distress:.1f}% "
            f"| {100 * harmful:.1f}% | {len(fitted.buckets):,} |"
        )
        print(lines[-1], flush=True)
        if technique == CHOSEN:
            chosen = fitted
    assert chosen is not None
    return "\n".join(lines), chosen


def fixture(model: Fitted, rows: Sequence[Row], seed: int) -> list[dict[str, object]]:
    """A sample of texts (each label and language, and a few tricks) with the trainer's scores."""
    rng = np.random.default_rng(seed)
    picked = [rows[i] for i in rng.choice(len(rows), size=min(40, len(rows)), replace=False)]
    texts = [row.text for row in picked] + [
        "i dont wanna be here anymore tbh",
        "How do I make s\u200ba\u200br\u200bi\u200bn at home?",
        "je suis mort de rire",
        "x " * 3000,
        "",
    ]
    scores = model.scores(texts)
    return [
        {"text": text, "scores": dict(zip(LABELS, map(float, s), strict=True))}
        for text, s in zip(texts, scores, strict=True)
    ]


def main(argv: Sequence[str] | None = None) -> None:
    """Train, measure and export (see the module's doc)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--held-out", type=float, default=0.2)
    parser.add_argument("--quick", action="store_true", help="fit the chosen technique only")
    parser.add_argument("--out", type=Path, default=shipped_model_file())
    args = parser.parse_args(argv)
    rows = deduplicated([*read_rows(), *rule_rows()])
    train, test = split(rows, args.held_out, args.seed)
    print(f"{len(rows)} rows: {len(train)} to train, {len(test)} held out", flush=True)
    if args.quick:
        table = ""
        split_fit = fit(
            [r.text for r in train], [r.label for r in train], LABELS, CHOSEN, args.seed
        )
    else:
        table, split_fit = comparison(train, test, args.seed)
    test_scores = split_fit.scores([r.text for r in test])
    thresholds = choose_thresholds(test, test_scores)
    measured = summary(test, test_scores, thresholds)
    final = fit([r.text for r in rows], [r.label for r in rows], LABELS, CHOSEN, args.seed)
    digest = hashlib.sha256(final.weights.tobytes() + final.buckets.tobytes()).hexdigest()[:12]
    counts = {
        f"{lang}/{label}": sum(1 for r in rows if r.lang == lang and r.label == label)
        for lang in sorted({r.lang for r in rows})
        for label in LABELS
    }
    model = TextModel(
        labels=LABELS,
        buckets=final.buckets,
        idf=final.idf,
        weights=final.weights,
        bias=final.bias,
        thresholds=thresholds,
        version=digest,
        words=CHOSEN.words,
        info={"technique": CHOSEN.name, "rows": len(rows), "seed": args.seed},
    )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    save_model(args.out, model)
    FIXTURE.parent.mkdir(parents=True, exist_ok=True)
    FIXTURE.write_text(
        json.dumps(fixture(final, test, args.seed), ensure_ascii=False, indent=1) + "\n"
    )
    size = args.out.stat().st_size
    REPORT.write_text(
        "# Training report (written by `python -m training.train`)\n\n"
        f"Rows: {len(rows)} ({len(train)} train, {len(test)} held out); model {digest}, "
        f"{len(final.buckets):,} features, {size / 1e6:.1f} MB.\n\n"
        f"## Techniques compared (held-out split)\n\n{table or '(skipped: --quick)'}\n\n"
        f"## Thresholds (chosen on the held-out split)\n\n```json\n"
        f"{json.dumps(thresholds, indent=1, sort_keys=True)}\n```\n\n"
        f"## Held-out quality: share of rows flagged, by language and label\n\n{measured}\n\n"
        f"## Rows by language and label (all data)\n\n```json\n"
        f"{json.dumps({k: v for k, v in counts.items() if v}, indent=1)}\n```\n"
    )
    print(measured)
    print(json.dumps(thresholds, indent=1))
    print(f"wrote {args.out} ({size / 1e6:.1f} MB), {REPORT}, {FIXTURE}")


if __name__ == "__main__":
    main()
