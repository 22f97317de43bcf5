"""The embedded classifier: a linear model over hashed n-grams, shipped in the package.

`training/train.py` writes it (`model.npz`: numpy arrays and a JSON header, no pickle);
serving needs numpy, and numba for its compiled loop (`scoring.py`). Scores are per
label, between 0 and 1 (one logistic output per label). The model learnt from messages
of a few sentences, and one sentence of crisis or of a request is diluted when the text
around it is read with it as one bag of n-grams (a greeting and a word about the weather
before `i don't see the point of waking up tomorrow` took its score from 0.98 to 0.26), so
a text of several sentences is also read in pieces: its sentences (short ones joined up
to `MIN_PIECE_CHARS`, long ones cut in overlapping `PIECE_CHARS`); a label's score is its
best piece's. The benign label's veto (`BENIGN_VETO`) is each piece's own: small talk
that reads benign does not veto the request beside it, and a piece that reads benign
lends none of its harmful scores. What is scored is bounded: a text up to `CHUNK_CHARS`
is scored whole and in pieces; of one longer than `MAX_SCORED_CHARS`, only the pieces of
its first and last `MAX_SCORED_CHARS / 2` characters, so a megabyte costs what 8 KB
costs. The rule packs still read every character.

A rules folder may hold its own `model.npz`, which then replaces the shipped one
(`model_file`).
"""

from __future__ import annotations

import importlib.resources
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Final, Literal

import numpy as np
import numpy.typing as npt

from gateway.detect import scoring
from gateway.detect.features import BITS, Floats, reduce_text

MODEL_NAME: Final = "model.npz"
FORMAT: Final = "lastword-ngram-linear/1"
MIN_PIECE_CHARS: Final = 60
ALONE_CHARS: Final = 20  # see `_pieces`
# A text shorter than this is read whole only: no room for two pieces.
SPLIT_CHARS: Final = 2 * MIN_PIECE_CHARS
PIECE_CHARS: Final = 300
CHUNK_CHARS: Final = 2048
_SENTENCE_END: Final = re.compile(r"(?<=[.!?;:\n\u2026\u3002])\s+")
MAX_SCORED_CHARS: Final = 8192
# `suspected` is the harmful categories' wider net, as `distress` is crisis's: a refusal of
# a suspected request is a strike that counts towards an ending only beside confident ones
# (`policy.strikes`).
Level = Literal["crisis", "distress", "harmful", "suspected"]
LEVELS: Final[tuple[Level, ...]] = ("crisis", "distress", "harmful", "suspected")
LANGUAGE: Final = "lang."  # the prefix of the labels naming a text's language
BENIGN: Final = "benign"
# A harmful request the model also reads as a benign look-alike (`bomba de chocolate`: a
# weapon word, a harmless object) is not flagged by the model: its benign label, trained
# on the written look-alikes, vetoes the flag at this score. Rules still flag it.
BENIGN_VETO: Final[Mapping[Level, float]] = {"harmful": 0.5, "suspected": 0.5}
# A threat to others the model reads at the crisis level, in a text its benign label reads
# as a look-alike with more confidence (`je vais tuer mon frère, il a fini les biscuits 😤`:
# hyperbole), stays at the distress level: endings stay held, no helplines are given.
BENIGN_LABEL_VETO: Final[Mapping[tuple[str, str], float]] = {("crisis", "harm_to_others"): 0.7}
Levels = Mapping[Level, Mapping[str, float]]


class ModelError(ValueError):
    """A model file is missing, unreadable or of another format."""


def shipped_model_file() -> Path:
    """The model shipped in the package."""
    return Path(str(importlib.resources.files("gateway.detect") / "weights" / MODEL_NAME))


def model_file(rules_dir: Path | None) -> Path:
    """The model to serve for a rules folder: its own `model.npz`, else the shipped one."""
    if rules_dir is not None and (rules_dir / MODEL_NAME).is_file():
        return rules_dir / MODEL_NAME
    return shipped_model_file()


@dataclass(frozen=True, eq=False)
class TextModel:
    """Linear weights over hashed n-gram features, and the thresholds chosen with them.

    `thresholds` maps a level (`crisis`, `distress`, `harmful`) to per-label thresholds;
    `by_language` holds, for some languages, thresholds that replace those for texts the
    model reads as that language (its `lang.<code>` labels), so each language is held to
    the same share of false positives.
    """

    labels: tuple[str, ...]
    buckets: npt.NDArray[np.int64]
    idf: Floats
    weights: Floats
    bias: Floats
    thresholds: Levels
    version: str
    words: bool = True
    info: Mapping[str, Any] = field(default_factory=dict)
    by_language: Mapping[str, Levels] = field(default_factory=dict)
    _rows: npt.NDArray[np.int32] = field(init=False, repr=False)
    _languages: tuple[str, ...] = field(init=False, repr=False)
    _bars: Mapping[tuple[str, Level], tuple[tuple[str, float], ...]] = field(init=False, repr=False)
    _vetoes: Mapping[float, tuple[tuple[str, ...], list[int]]] = field(init=False, repr=False)
    _benign_column: int | None = field(init=False, repr=False)

    def __post_init__(self) -> None:
        count = len(self.buckets)
        if (
            self.weights.shape != (count, len(self.labels))
            or self.idf.shape != (count,)
            or self.bias.shape != (len(self.labels),)
        ):
            raise ModelError(
                f"weights {self.weights.shape}, idf {self.idf.shape} and bias "
                f"{self.bias.shape} do not fit {count} buckets and {len(self.labels)} labels"
            )
        if count and not 0 <= self.buckets.min() <= self.buckets.max() < 1 << BITS:
            raise ModelError(f"buckets outside 0 to 2**{BITS}")
        # The compiled loop reads these as they are: one layout, so it is compiled once.
        for name in ("idf", "weights", "bias"):
            value = np.ascontiguousarray(getattr(self, name), dtype=np.float32)
            object.__setattr__(self, name, value)
        rows = np.full(1 << BITS, -1, dtype=np.int32)
        rows[self.buckets] = np.arange(len(self.buckets), dtype=np.int32)
        object.__setattr__(self, "_rows", rows)
        languages = tuple(label for label in self.labels if label.startswith(LANGUAGE))
        object.__setattr__(self, "_languages", languages)
        # Each benign score that vetoes some label, with those labels' `unvetoed_key` and
        # their columns.
        vetoed = {
            (label, veto)
            for level, veto in BENIGN_VETO.items()
            for label in self.thresholds.get(level, {})
        } | {(label, veto) for (_, label), veto in BENIGN_LABEL_VETO.items()}
        vetoes: dict[float, tuple[tuple[str, ...], list[int]]] = {}
        for veto in sorted({veto for _, veto in vetoed}):
            names = sorted(x for x, v in vetoed if v == veto and x in self.labels)
            keys = tuple(unvetoed_key(x, veto) for x in names)
            vetoes[veto] = (keys, [self.labels.index(x) for x in names])
        object.__setattr__(self, "_vetoes", vetoes)
        benign_column = self.labels.index(BENIGN) if BENIGN in self.labels else None
        object.__setattr__(self, "_benign_column", benign_column)
        # Each level's (label, threshold) pairs, per language read and for the rest ("").
        bars = {
            (lang, level): tuple(
                (label, own.get(level, {}).get(label, threshold))
                for label, threshold in self.thresholds.get(level, {}).items()
            )
            for lang, own in [("", {}), *self.by_language.items()]
            for level in LEVELS
        }
        object.__setattr__(self, "_bars", bars)
        # The compiled loop is compiled, or loaded from its cache, now rather than on the
        # first request.
        self.scores(["warm"])

    def scores(self, folded: Sequence[str]) -> Floats:
        """The score of every label (columns, in `labels` order) for each folded text, whole."""
        return scoring.scores(
            [reduce_text(text) for text in folded], words=self.words, rows=self._rows,
            idf=self.idf, weights=self.weights, bias=self.bias,
        )  # fmt: skip

    def score(self, texts: Sequence[Sequence[str]]) -> list[dict[str, float]]:
        """For each text, given as the folded pieces to score (`chunks`), each label's best
        score over its pieces; all in one batch. Where the benign label vetoes a label in
        some pieces and not in others (`BENIGN_VETO`, `BENIGN_LABEL_VETO`), the label's best
        score over the others is given too (`unvetoed`), for `over`."""
        scores = self.scores([piece for pieces in texts for piece in pieces])
        out: list[dict[str, float]] = []
        start = 0
        for pieces in texts:
            end = start + len(pieces)
            if end == start + 1:
                out.append(dict(zip(self.labels, scores[start].tolist(), strict=True)))
            else:
                out.append(self._best(scores[start:end]))
            start = end
        return out

    def _best(self, block: Floats) -> dict[str, float]:
        """Each label's best score over the pieces `block` holds (`score`)."""
        best = dict(zip(self.labels, block.max(axis=0).tolist(), strict=True))
        column = self._benign_column
        if column is None:
            return best
        benign: list[float] = block[:, column].tolist()
        for veto, (keys, columns) in self._vetoes.items():
            if best[BENIGN] < veto:
                break  # no piece is vetoed at this score or higher ones
            unvetoed = [i for i, score in enumerate(benign) if score < veto]
            if unvetoed:
                values = block[unvetoed][:, columns].max(axis=0).tolist()
                best.update(zip(keys, values, strict=True))
        return best

    def language(self, scores: Mapping[str, float]) -> str | None:
        """The language the model reads in a text's scores, if it has language labels."""
        if not self._languages:
            return None
        return max(self._languages, key=scores.__getitem__).removeprefix(LANGUAGE)

    def over(self, scores: Mapping[str, float], level: Level, margin: float = 0.0) -> set[str]:
        """The labels whose score reaches their threshold at `level` (in the text's language),
        each threshold raised by `margin` of the way to 1. A label the benign label vetoes
        (`BENIGN_VETO` for a level, `BENIGN_LABEL_VETO` for one label of it) counts only on
        the pieces it does not veto (`score`)."""
        benign = scores.get(BENIGN, 0.0)
        level_veto = BENIGN_VETO.get(level, 2.0)
        out = set()
        for label, bar in self._bars_of(scores, level):
            veto = min(level_veto, BENIGN_LABEL_VETO.get((level, label), 2.0))
            # Where a piece reads benign enough to veto it, the others' best may stand.
            value = scores[label] if benign < veto else scores.get(unvetoed_key(label, veto), -1.0)
            if value >= bar + margin * (1.0 - bar):
                out.add(label)
        return out

    def leaning(self, scores: Mapping[str, float], level: Level, share: float) -> set[str]:
        """The labels whose score reaches `share` of their threshold at `level` (in the
        text's language): what a text leans to without reaching it. The benign label's veto
        (`over`) does not apply: what leans is read beside a request already flagged, and
        a turn that carries one on often reads harmless alone (`and how do i spread it in
        a closed room`)."""
        bars = self._bars_of(scores, level)
        return {label for label, bar in bars if scores[label] >= share * bar}

    def _bars_of(self, scores: Mapping[str, float], level: Level) -> tuple[tuple[str, float], ...]:
        """The (label, threshold) pairs of `level` in the language the scores read as."""
        return self._bars.get((self.language(scores) or "", level)) or self._bars[("", level)]

    def with_thresholds(self, overrides: Levels) -> TextModel:
        """This model with some thresholds replaced, in every language (`{level: {label:
        threshold}}`); raise ModelError for a level or label it does not know."""
        if not overrides:
            return self
        _check_levels(overrides, self.labels, "thresholds")
        merged: dict[Level, dict[str, float]] = {
            level: dict(values) for level, values in self.thresholds.items()
        }
        for level, values in overrides.items():
            merged.setdefault(level, {}).update(values)
        by_language = {
            lang: {
                level: {k: v for k, v in values.items() if k not in overrides.get(level, {})}
                for level, values in levels.items()
            }
            for lang, levels in self.by_language.items()
        }
        return replace(self, thresholds=merged, by_language=by_language)


def _check_levels(thresholds: Levels, labels: Sequence[str], where: str) -> None:
    unknown = [
        f"{level}.{label}"
        for level, values in thresholds.items()
        for label in values
        if level not in LEVELS or label not in labels
    ]
    if unknown:
        raise ModelError(f"{where}: unknown levels or categories: {', '.join(unknown)}")


def unvetoed_key(label: str, veto: float) -> str:
    """Where `score` gives `label`'s best score over the pieces whose benign score is under
    `veto`, when others' is not."""
    return f"{label}|unvetoed<{veto}"


def chunks(text: str) -> list[str]:
    """The pieces of `text` that are scored (see the module's doc)."""
    if len(text) <= PIECE_CHARS:
        if len(text) < SPLIT_CHARS:
            return [text]
        pieces = _pieces(text)
        return [text, *pieces] if len(pieces) > 1 else [text]
    if len(text) > MAX_SCORED_CHARS:
        half = MAX_SCORED_CHARS // 2
        return _pieces(text[:half]) + _pieces(text[-half:])
    pieces = _pieces(text)
    whole = [text] if len(text) <= CHUNK_CHARS and len(pieces) > 1 else []
    return whole + pieces


def _pieces(text: str) -> list[str]:
    """`text` as its sentences, short ones joined up to `MIN_PIECE_CHARS`, long ones cut in
    overlapping `PIECE_CHARS` (each starting half a piece after the one before). A short
    sentence of `ALONE_CHARS` or more before a long one stands alone: joined, the long one
    would dilute it (`i can't do this anymore. Anyway, the kids are back at school ...`)."""
    out: list[str] = []
    piece = ""
    sentences = _SENTENCE_END.split(text)
    for at, sentence in enumerate(sentences):
        piece = f"{piece} {sentence}" if piece else sentence
        if len(piece) < MIN_PIECE_CHARS:
            following = sentences[at + 1] if at + 1 < len(sentences) else ""
            if len(piece) < ALONE_CHARS or len(following) < MIN_PIECE_CHARS:
                continue
        step = PIECE_CHARS // 2
        out += [piece[i : i + PIECE_CHARS] for i in range(0, max(1, len(piece) - step), step)]
        piece = ""
    if piece:
        out.append(piece)
    return out


def save_model(path: Path, model: TextModel) -> None:
    """Write `model` as a compressed npz file (weights as float16)."""
    header = {
        "format": FORMAT,
        "labels": list(model.labels),
        "thresholds": {k: dict(v) for k, v in model.thresholds.items()},
        "by_language": {
            lang: {k: dict(v) for k, v in levels.items()}
            for lang, levels in model.by_language.items()
        },
        "version": model.version,
        "words": model.words,
        "info": dict(model.info),
    }
    np.savez_compressed(
        path,
        header=np.frombuffer(json.dumps(header, sort_keys=True).encode(), dtype=np.uint8),
        buckets=model.buckets.astype(np.int32),
        idf=model.idf.astype(np.float16),
        weights=model.weights.astype(np.float16),
        bias=model.bias.astype(np.float32),
    )


# Models already read, by file and its size and time: a reload, or another gateway in the
# same process, reads an unchanged file once.
_LOADED: dict[tuple[str, int, int], TextModel] = {}


def load_model(path: Path) -> TextModel:
    """Read a model file; raise ModelError naming the file when it is not one."""
    try:
        stat = path.stat()
    except OSError as exc:
        raise ModelError(f"{path}: cannot be read: {exc.strerror}") from None
    key = (str(path), stat.st_size, stat.st_mtime_ns)
    if key not in _LOADED:
        _LOADED.clear()  # one model in use at a time, in practice: keep only the newest
        _LOADED[key] = _read(path)
    return _LOADED[key]


def _read(path: Path) -> TextModel:
    try:
        with np.load(path, allow_pickle=False) as data:
            header = json.loads(data["header"].tobytes().decode())
            arrays = {name: data[name] for name in ("buckets", "idf", "weights", "bias")}
    except (OSError, ValueError, KeyError) as exc:
        raise ModelError(f"{path}: not a readable model file: {exc}") from None
    if not isinstance(header, dict) or header.get("format") != FORMAT:
        raise ModelError(f"{path}: not a model of format {FORMAT}")
    labels = tuple(header["labels"])
    thresholds = header.get("thresholds", {})
    _check_levels(thresholds, labels, f"{path}: thresholds")
    by_language = header.get("by_language", {})
    for lang, levels in by_language.items():
        _check_levels(levels, labels, f"{path}: thresholds for {lang}")
    try:
        return TextModel(
            labels=labels,
            buckets=arrays["buckets"].astype(np.int64),
            idf=arrays["idf"].astype(np.float32),
            weights=arrays["weights"].astype(np.float32),
            bias=arrays["bias"].astype(np.float32),
            thresholds=thresholds,
            version=str(header.get("version", "")),
            words=bool(header.get("words", True)),
            info=header.get("info", {}),
            by_language=by_language,
        )
    except ModelError as exc:
        raise ModelError(f"{path}: {exc}") from None
