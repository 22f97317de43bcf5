"""The embedded classifier: a linear model over hashed n-grams, shipped in the package.

`training/train.py` writes it (`model.npz`: numpy arrays and a JSON header, no pickle);
serving needs numpy only. Scores are per label, between 0 and 1 (one logistic output per
label). What is scored of a text is bounded, so a long text costs no more than
`MAX_SCORED_CHARS` of it: a text up to `CHUNK_CHARS` is scored whole; a longer one is cut
in chunks of about `CHUNK_CHARS / 2` characters (at spaces), and only the chunks of its
first and last `MAX_SCORED_CHARS / 2` are scored, each alone; a label's score is its best
chunk's. The rule packs still read every character.

A rules folder may hold its own `model.npz`, which then replaces the shipped one
(`model_file`).
"""

from __future__ import annotations

import importlib.resources
import itertools
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import numpy as np
import numpy.typing as npt

from gateway.detect.features import BITS, Floats, hashed, reduce_text, tfidf

MODEL_NAME: Final = "model.npz"
FORMAT: Final = "lastword-ngram-linear/1"
CHUNK_CHARS: Final = 2048
MAX_SCORED_CHARS: Final = 16_384
LEVELS: Final = ("crisis", "distress", "harmful")
Levels = Mapping[str, Mapping[str, float]]


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

    `thresholds` maps a level (`crisis`, `distress`, `harmful`) to per-label thresholds.
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
    _rows: npt.NDArray[np.int32] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        rows = np.full(1 << BITS, -1, dtype=np.int32)
        rows[self.buckets] = np.arange(len(self.buckets), dtype=np.int32)
        object.__setattr__(self, "_rows", rows)

    def scores(self, folded: Sequence[str]) -> Floats:
        """The score of every label (columns, in `labels` order) for each folded text, whole."""
        reduced = [reduce_text(text) for text in folded]
        docs, buckets = hashed(reduced, self.words)
        text, row, weight = tfidf(docs, self._rows[buckets], len(reduced), self.idf)
        logits = np.tile(self.bias, (len(reduced), 1))
        bounds = np.searchsorted(text, np.arange(len(reduced) + 1))
        for i, (start, stop) in enumerate(itertools.pairwise(bounds.tolist())):
            logits[i] += weight[start:stop] @ self.weights[row[start:stop]]
        return (1.0 / (1.0 + np.exp(-logits))).astype(np.float32)

    def score(self, folded: Sequence[str]) -> list[dict[str, float]]:
        """Each label's score for each folded text, scored in bounded chunks (a label's best
        chunk; module doc), all in one batch."""
        pieces = [chunks(text) for text in folded]
        scores = self.scores([piece for text in pieces for piece in text])
        out: list[dict[str, float]] = []
        start = 0
        for text in pieces:
            best = scores[start : start + len(text)].max(axis=0)
            out.append(dict(zip(self.labels, best.tolist(), strict=True)))
            start += len(text)
        return out

    def with_thresholds(self, overrides: Levels) -> TextModel:
        """This model with some thresholds replaced (`{level: {label: threshold}}`)."""
        merged = {level: dict(values) for level, values in self.thresholds.items()}
        for level, values in overrides.items():
            merged.setdefault(level, {}).update(values)
        return TextModel(
            self.labels,
            self.buckets,
            self.idf,
            self.weights,
            self.bias,
            merged,
            self.version,
            self.words,
            self.info,
        )


def chunks(text: str) -> list[str]:
    """The pieces of `text` that are scored (see the module's doc)."""
    if len(text) <= CHUNK_CHARS:
        return [text]
    half = MAX_SCORED_CHARS // 2
    if len(text) <= MAX_SCORED_CHARS:
        return _cut(text)
    return _cut(text[:half]) + _cut(text[-half:])


def _cut(text: str) -> list[str]:
    """`text` in pieces of about `CHUNK_CHARS / 2`, each ended at a space where there is one."""
    size = CHUNK_CHARS // 2
    out: list[str] = []
    start = 0
    while len(text) - start > size:
        space = text.rfind(" ", start + size // 2, start + size)
        stop = space if space > start else start + size
        out.append(text[start:stop])
        start = stop
    out.append(text[start:])
    return out


def save_model(path: Path, model: TextModel) -> None:
    """Write `model` as a compressed npz file (weights as float16)."""
    header = {
        "format": FORMAT,
        "labels": list(model.labels),
        "thresholds": {k: dict(v) for k, v in model.thresholds.items()},
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
    unknown = [
        f"{level}.{label}"
        for level, values in thresholds.items()
        for label in values
        if level not in LEVELS or label not in labels
    ]
    if unknown:
        raise ModelError(f"{path}: thresholds for unknown levels or labels: {unknown}")
    weights = arrays["weights"].astype(np.float32)
    if weights.shape != (len(arrays["buckets"]), len(labels)):
        raise ModelError(f"{path}: weights of shape {weights.shape} do not fit its labels")
    return TextModel(
        labels=labels,
        buckets=arrays["buckets"].astype(np.int64),
        idf=arrays["idf"].astype(np.float32),
        weights=weights,
        bias=arrays["bias"].astype(np.float32),
        thresholds=thresholds,
        version=str(header.get("version", "")),
        words=bool(header.get("words", True)),
        info=header.get("info", {}),
    )
