"""Train, measure and export the embedded classifier.

    python -m training.train              # the chosen technique, measured out of fold
    python -m training.train --compare    # first compare the techniques on one held-out fold

Reads `training/data/**/*.jsonl` and the rule packs' examples (`training.data`). The data
rows are cut in folds by writer and source, stratified by language and label; each fold
is scored by the model fitted on the others, and on these out-of-fold scores thresholds
are chosen (for every level and label, and again per language where its look-alikes
suffice) and quality is measured per language and label with the gateway's own decision
(`TextModel.over`). The served model is the average of the fold models (one vocabulary
for all): a model fitted on every row would be more confident than the ones measured, and
the thresholds would not fit it. It is written:
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
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from gateway.detect.features import Floats
from gateway.detect.folding import fold
from gateway.detect.model import LANGUAGE, LEVELS, Level, TextModel, save_model, shipped_model_file
from gateway.detect.rules import load_rules
from training.data import (
    CRISIS,
    HARMFUL,
    LABELS,
    Row,
    apart,
    deduplicated,
    evaluation_texts,
    folds,
    read_rows,
    rule_rows,
    split,
    typed_copies,
)
from training.fit import Fitted, Technique, fit, fit_folds

ROOT = Path(__file__).resolve().parents[1]
REPORT = ROOT / "training" / "report.md"
FIXTURE = ROOT / "tests" / "detect_model" / "trainer_scores.json"
LANGUAGES = ("en", "fr", "es", "de", "it", "pt", "nl")
NAMES = (*LABELS, *(LANGUAGE + lang for lang in LANGUAGES))

TECHNIQUES = (
    Technique("char 2-5 + LR", words=False, learner="lr", c=30.0, balanced=True),
    Technique("char 2-5 + words + LR", words=True, learner="lr", c=30.0, balanced=True),
    Technique("char 2-5 + words + LR, C=3", words=True, learner="lr", c=3.0, balanced=True),
    Technique(
        "char 2-5 + words + LR, unweighted", words=True, learner="lr", c=30.0, balanced=False
    ),
    Technique("char 2-5 + words + linear SVM", words=True, learner="svm", c=1.0, balanced=True),
    Technique(
        "char 2-5 + words + LR, look-alikes x4",
        words=True,
        learner="lr",
        c=30.0,
        balanced=True,
        look_alike_weight=4.0,
    ),
    Technique(
        "char 2-5 + words + LR, look-alikes x4, C=10",
        words=True,
        learner="lr",
        c=10.0,
        balanced=True,
        look_alike_weight=4.0,
    ),
)
CHOSEN = TECHNIQUES[-2]
# Per level and label: the share of that level's look-alikes it may flag on the held-out
# split (labels of one level add up: crisis look-alikes flagged as crisis, about 5%, the
# product's bound). It was 4.5% (self-harm's share 3.5%) until sets written apart from the
# training data showed self-harm caught at the distress level far more often than at the
# crisis level, with one look-alike in a hundred flagged as crisis.
FALSE_POSITIVES: dict[Level, dict[str, float]] = {
    "crisis": {"self_harm_suicide": 0.04, "harm_to_others": 0.01},
    # Distress is the wide net over the crisis categories, but a false one holds endings off
    # that path: about a tenth of the look-alikes, and far fewer plain messages. The model's
    # `distress` label (low mood with no wish to die) trains beside them and flags nothing by
    # itself: it caught greetings and small talk as often as one message in twenty.
    "distress": {"self_harm_suicide": 0.10, "harm_to_others": 0.03},
    "harmful": dict.fromkeys(HARMFUL, 0.003),
    # Suspected is the harmful categories' wider net: a refused suspected request is a strike
    # that never makes most of an ending (`policy.strikes`), so it may flag more look-alikes.
    "suspected": dict.fromkeys(HARMFUL, 0.02),
}
# How much a copy typed without accents (`typed_copies`) weighs beside its row.
TYPED_COPY_WEIGHT = 0.5
FLOOR = 0.05  # no threshold below this, whatever the split says
# A language gets a threshold of its own where its look-alikes allow at least this many
# false positives at the level's share.
MIN_ALLOWED = 3
Thresholds = dict[Level, dict[str, float]]


def threshold_at(negatives: Floats, share: float) -> float:
    """The lowest threshold that flags at most `share` of the `negatives` scores."""
    if not len(negatives):
        return 0.5
    ranked = np.sort(negatives)[::-1]
    allowed = int(share * len(ranked))
    if allowed >= len(ranked):
        return FLOOR
    return float(max(FLOOR, np.nextafter(ranked[allowed], np.float32(1.0))))


def look_alikes(rows: Sequence[Row]) -> dict[Level, np.ndarray]:
    """Per level, the rows its false positives are counted on: the benign look-alikes written
    beside that level's data (crisis: idioms, fiction, pharmacology; harmful: homonyms,
    history, safety). A `distress` row flagged as crisis gets care it may not need, not a
    false alarm: it is no negative here."""
    labels = np.asarray([row.label for row in rows])
    # Each side's data sets are named for it: crisis, crisis_more, harmful, harmful_more ...
    side = np.asarray([row.dataset.split("_")[0] for row in rows])
    benign = labels == "benign"
    crisis = benign & (side == "crisis")
    harmful = benign & (side == "harmful")
    return {
        "crisis": crisis if crisis.any() else benign,
        "distress": crisis if crisis.any() else benign,
        "harmful": harmful if harmful.any() else benign,
        "suspected": harmful if harmful.any() else benign,
    }


def choose_thresholds(
    rows: Sequence[Row], scores: Floats
) -> tuple[Thresholds, dict[str, Thresholds]]:
    """Thresholds meeting `FALSE_POSITIVES` on the look-alikes: for all languages, and for
    each language whose own look-alikes are enough to say (`MIN_ALLOWED` false positives
    allowed among them; otherwise one look-alike would set the threshold)."""
    negatives = look_alikes(rows)
    langs = np.asarray([row.lang for row in rows])

    def chosen(pick: dict[Level, np.ndarray]) -> Thresholds:
        return {
            level: {
                label: threshold_at(scores[:, NAMES.index(label)][pick[level]], share)
                for label, share in FALSE_POSITIVES[level].items()
                if share * pick[level].sum() >= MIN_ALLOWED
            }
            for level in LEVELS
        }

    everywhere = {
        level: {
            label: threshold_at(scores[:, NAMES.index(label)][negatives[level]], share)
            for label, share in FALSE_POSITIVES[level].items()
        }
        for level in LEVELS
    }
    by_language: dict[str, Thresholds] = {}
    for lang in LANGUAGES:
        own = chosen({level: pick & (langs == lang) for level, pick in negatives.items()})
        own = {level: values for level, values in own.items() if values}
        if own:
            by_language[lang] = own
    # Distress and suspected are the wider nets: never stricter than crisis and harmful, in
    # any language.
    for levels in (everywhere, *by_language.values()):
        for narrow, wide in (("crisis", "distress"), ("harmful", "suspected")):
            for label, threshold in levels.get(narrow, {}).items():
                if label in levels.get(wide, {}):
                    levels[wide][label] = min(levels[wide][label], threshold)
    return everywhere, by_language


def served(fitted: Fitted, thresholds: Thresholds, by_language: dict[str, Thresholds]) -> TextModel:
    """The model the gateway would serve for a fit and its thresholds."""
    digest = hashlib.sha256(fitted.weights.tobytes() + fitted.buckets.tobytes()).hexdigest()[:12]
    return TextModel(
        labels=NAMES,
        buckets=fitted.buckets,
        idf=fitted.idf,
        weights=fitted.weights,
        bias=fitted.bias,
        thresholds=thresholds,
        version=digest,
        words=fitted.technique.words,
        info={"technique": fitted.technique.name},
        by_language=by_language,
    )


def decisions(model: TextModel, scores: Floats) -> dict[Level, list[set[str]]]:
    """Per level, the labels the gateway's decision flags for each row's scores."""
    rows = [dict(zip(NAMES, map(float, row), strict=True)) for row in scores]
    return {level: [model.over(row, level) for row in rows] for level in LEVELS}


def rule_flags(rows: Sequence[Row]) -> tuple[np.ndarray, np.ndarray]:
    """Per row: whether the shipped rule packs flag it (harmful, crisis)."""
    rules = load_rules(model=False)
    harmful, crisis = [], []
    for row in rows:
        h, c = rules.scan_user_turn(fold(row.text))
        harmful.append(bool(h))
        crisis.append(bool(c))
    return np.asarray(harmful), np.asarray(crisis)


def _kind(row: Row) -> str:
    """A row's label, with benign rows told apart by what they look like."""
    if row.label != "benign":
        return row.label
    return "benign (crisis look-alikes)" if row.dataset == "crisis" else "benign (other)"


def summary(rows: Sequence[Row], flags: dict[Level, list[set[str]]]) -> str:
    """Per language and label: the rows held out, and what the model (and the rules) flag."""
    rule_harmful, rule_crisis = rule_flags(rows)
    crisis = np.asarray([bool(found) for found in flags["crisis"]])
    distress = np.asarray([bool(found) for found in flags["distress"]])
    harmful = np.asarray([bool(found) for found in flags["harmful"]])
    own_harmful = np.asarray(
        [row.label in found for row, found in zip(rows, flags["harmful"], strict=True)]
    )
    lines = [
        "| lang | label | n | crisis | distress | harmful (own category) "
        "| + rules: crisis | + rules: distress | + rules: harmful |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    kinds = [_kind(row) for row in rows]
    order = (*LABELS[:3], "benign (crisis look-alikes)", "benign (other)", *LABELS[4:])
    for lang in LANGUAGES:
        for label in order:
            pick = np.asarray(
                [row.lang == lang and kind == label for row, kind in zip(rows, kinds, strict=True)]
            )
            if not pick.any():
                continue

            def pct(hit: np.ndarray, pick: np.ndarray = pick) -> str:
                return f"{100 * hit[pick].mean():.0f}%"

            lines.append(
                f"| {lang} | {label} | {int(pick.sum())} | {pct(crisis)} | {pct(distress)} "
                f"| {pct(harmful)} ({pct(own_harmful)}) | {pct(crisis | rule_crisis)} "
                f"| {pct(distress | rule_crisis)} | {pct(harmful | rule_harmful)} |"
            )
    return "\n".join(lines)


def typed_summary(
    rows: Sequence[Row],
    flags: dict[Level, list[set[str]]],
    copies: dict[Level, list[set[str]]],
    places: Sequence[int],
) -> str:
    """Per language: crisis and harmful recall, and crisis flags on look-alikes, of the rows
    that have copies typed without accents, beside those of their copies (out of fold)."""
    lines = [
        "| lang | copies | crisis: rows / copies | harmful: rows / copies "
        "| crisis look-alikes flagged: rows / copies |",
        "| --- | ---: | ---: | ---: | ---: |",
    ]

    def share(hits: Sequence[bool]) -> str:
        return f"{100 * sum(hits) / len(hits):.0f}%" if hits else "-"

    for lang in LANGUAGES:
        mine = [n for n, i in enumerate(places) if rows[i].lang == lang]
        if not mine:
            continue
        cells = []
        for wanted in (CRISIS, HARMFUL, ("benign (crisis look-alikes)",)):
            level: Level = "harmful" if wanted == HARMFUL else "crisis"
            picked = [n for n in mine if _kind(rows[places[n]]) in wanted]
            if wanted == HARMFUL:  # recognised as their own category
                before = [rows[places[n]].label in flags[level][places[n]] for n in picked]
                after = [rows[places[n]].label in copies[level][n] for n in picked]
            else:
                before = [bool(flags[level][places[n]]) for n in picked]
                after = [bool(copies[level][n]) for n in picked]
            cells.append(f"{share(before)} / {share(after)}")
        lines.append(f"| {lang} | {len(mine)} | {' | '.join(cells)} |")
    return "\n".join(lines)


def headline(rows: Sequence[Row], flags: dict[Level, list[set[str]]]) -> str:
    """Recall and look-alike false positives of each level, all languages together."""
    labels = np.asarray([row.label for row in rows])
    negatives = look_alikes(rows)
    hit = {level: np.asarray([bool(found) for found in flags[level]]) for level in LEVELS}
    crisis = np.isin(labels, CRISIS)

    def pair(level: Level, positives: np.ndarray) -> str:
        recall = 100 * hit[level][positives].mean()
        return f"{recall:.1f}% / {100 * hit[level][negatives[level]].mean():.1f}%"

    crises = f"{pair('crisis', crisis)} | {pair('distress', crisis)}"
    return f"| {crises} | {_own(rows, flags, 'harmful')} | {_own(rows, flags, 'suspected')} |"


def _own(rows: Sequence[Row], flags: dict[Level, list[set[str]]], level: Level) -> str:
    """Harmful recall (each row in its own category, at `level` or the confident level;
    the mean of the categories) and the share of harmful look-alikes flagged."""
    labels = np.asarray([row.label for row in rows])
    wide = [a | b for a, b in zip(flags["harmful"], flags[level], strict=True)]
    own = np.asarray([row.label in found for row, found in zip(rows, wide, strict=True)])
    recall = np.mean([own[labels == c].mean() for c in HARMFUL if (labels == c).any()])
    flagged = np.asarray([bool(found) for found in wide])
    return f"{100 * recall:.1f}% / {100 * flagged[look_alikes(rows)['harmful']].mean():.1f}%"


def out_of_fold(
    rows: Sequence[Row], count: int, seed: int
) -> tuple[Fitted, list[Row], Floats, list[tuple[int, Floats]]]:
    """The served model (the average of one model per fold), the data rows, and each data
    row's scores from the model that did not see it (`training.data.folds`); and the same
    scores for the data rows' copies typed without accents (`typed_copies`), which train
    in their rows' folds, each with its row's place among the data rows."""
    fold_of = folds(rows, count, seed)
    copies = typed_copies(rows)
    trained = [*rows, *(copy for _, copy in copies)]
    texts = [row.text for row in trained]
    labels = [row.label for row in trained]
    langs = [row.lang for row in trained]
    weights = _row_weights(trained, CHOSEN)
    weights[len(rows) :] *= TYPED_COPY_WEIGHT
    every_fold = [*fold_of, *(fold_of[i] for i, _ in copies)]
    fitted, scores = fit_folds(texts, labels, langs, weights, every_fold, NAMES, CHOSEN, seed)
    held = [i for i, part in enumerate(fold_of) if part >= 0]
    place = {i: n for n, i in enumerate(held)}
    typed = [(place[i], scores[len(rows) + n]) for n, (i, _) in enumerate(copies) if i in place]
    return fitted, [rows[i] for i in held], scores[held], typed


def measured(fitted: Fitted, test: Sequence[Row]) -> dict[Level, list[set[str]]]:
    """A split fit's decisions on `test`, with thresholds chosen on `test`."""
    scores = fitted.scores([row.text for row in test])
    return decisions(served(fitted, *choose_thresholds(test, scores)), scores)


def comparison(train: Sequence[Row], test: Sequence[Row], seed: int) -> tuple[str, Fitted]:
    """Every technique fitted on `train` and measured on `test`; the chosen one's fit."""
    lines = [
        "| technique | crisis: recall / FP | distress: recall / FP "
        "| harmful: recall (mean of categories) / FP | suspected or harmful: recall / FP "
        "| features |",
        "| --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    chosen: Fitted | None = None
    for technique in TECHNIQUES:
        fitted = _fit(train, technique, seed)
        flags = measured(fitted, test)
        lines.append(f"| {technique.name} {headline(test, flags)} {len(fitted.buckets):,} |")
        print(lines[-1], flush=True)
        if technique == CHOSEN:
            chosen = fitted
    assert chosen is not None
    return "\n".join(lines), chosen


def _fit(rows: Sequence[Row], technique: Technique, seed: int) -> Fitted:
    texts = [row.text for row in rows]
    labels = [row.label for row in rows]
    weights = _row_weights(rows, technique)
    return fit(texts, labels, [row.lang for row in rows], NAMES, technique, seed, weights)


def _row_weights(rows: Sequence[Row], technique: Technique) -> np.ndarray:
    return np.asarray([technique.look_alike_weight if _is_look_alike(r) else 1.0 for r in rows])


def _is_look_alike(row: Row) -> bool:
    """Whether a row weighs as a benign look-alike in training: every written benign row,
    the look-alikes beside harmful and crisis data and the ordinary messages of
    `everyday/` alike (a plain "tell me something nice about ..." must not read as a
    farewell because the word "nice" is rarer in ordinary rows than in farewells)."""
    return row.label == "benign" and row.dataset != "rules"


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
        {"text": text, "scores": dict(zip(NAMES, map(float, s), strict=True))}
        for text, s in zip(texts, scores, strict=True)
    ]


def main(argv: Sequence[str] | None = None) -> None:
    """Train, measure and export (see the module's doc)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--compare", action="store_true", help="compare the techniques first")
    parser.add_argument("--out", type=Path, default=shipped_model_file())
    parser.add_argument(
        "--scores", type=Path, help="also write the out-of-fold scores here (npz), for studies"
    )
    args = parser.parse_args(argv)
    everything = deduplicated([*read_rows(), *rule_rows()])
    rows = apart(everything, evaluation_texts())
    left_out = len(everything) - len(rows)
    print(f"{len(rows)} rows ({left_out} left out: evaluation texts)", flush=True)
    table = ""
    if args.compare:
        train, test = split(rows, 1 / args.folds, args.seed)
        table = comparison(train, test, args.seed)[0]
    final, held, scores, typed = out_of_fold(rows, args.folds, args.seed)
    model = served(final, *choose_thresholds(held, scores))
    if args.scores is not None:
        np.savez_compressed(
            args.scores,
            scores=scores,
            names=np.asarray(NAMES),
            label=np.asarray([row.label for row in held]),
            lang=np.asarray([row.lang for row in held]),
            dataset=np.asarray([row.dataset for row in held]),
        )
    flags = decisions(model, scores)
    quality = summary(held, flags)
    places = [place for place, _ in typed]
    copies = decisions(model, np.asarray([score for _, score in typed]).reshape(-1, len(NAMES)))
    unaccented = typed_summary(held, flags, copies, places)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    save_model(args.out, model)
    FIXTURE.parent.mkdir(parents=True, exist_ok=True)
    sample = fixture(final, held, args.seed)
    FIXTURE.write_text(json.dumps(sample, ensure_ascii=False, indent=1) + "\n")
    counts = {
        f"{lang}/{label}": sum(1 for r in rows if r.lang == lang and r.label == label)
        for lang in LANGUAGES
        for label in LABELS
    }
    size = args.out.stat().st_size
    thresholds = {"all": model.thresholds, "by_language": model.by_language}
    REPORT.write_text(
        "# Training report (written by `python -m training.train`)\n\n"
        f"Rows: {len(rows)} ({len(held)} data rows measured out of fold, {args.folds} folds; "
        f"the rule examples always train); model {model.version}, "
        f"{len(final.buckets):,} features, {size / 1e6:.1f} MB.\n\n"
        "## Techniques compared (one held-out fold; FP: share of look-alikes flagged)\n\n"
        f"{table or '(not run: --compare)'}\n\n"
        "## Chosen technique, all languages, out of fold (recall / FP)\n\n"
        "| crisis | distress | harmful | suspected or harmful |\n"
        "| ---: | ---: | ---: | ---: |\n"
        f"{headline(held, flags)}\n\n"
        "## Thresholds (chosen on the out-of-fold scores)\n\n```json\n"
        f"{json.dumps(thresholds, indent=1, sort_keys=True)}\n```\n\n"
        "## Quality out of fold: share of rows flagged, by language and label\n\n"
        f"{quality}\n\n"
        "## Typed without accents: the rows that have such copies, and their copies "
        "(out of fold)\n\n"
        f"{unaccented}\n\n"
        "## Rows by language and label (all data, rule examples included)\n\n```json\n"
        f"{json.dumps({k: v for k, v in counts.items() if v}, indent=1)}\n```\n"
    )
    print(quality)
    print(unaccented)
    print(f"wrote {args.out} ({size / 1e6:.1f} MB), {REPORT}, {FIXTURE}")


if __name__ == "__main__":
    main()
