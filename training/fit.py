"""Fitting one technique: a vocabulary of hashed features, TF-IDF, one linear model per label."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import sparse
from sklearn.linear_model import LogisticRegression
from sklearn.svm import LinearSVC

from gateway.detect.features import BITS, Floats, Ints, hashed, reduce_text, tfidf
from gateway.detect.folding import fold
from gateway.detect.model import LANGUAGE

# Labels left out of another label's negatives: despair with no word of suicide is neither
# a negative example of crisis nor crisis, so the crisis models learn crisis against calm
# messages, and the distress model learns despair-or-worse. Harm to others is no negative
# example of self-harm (many such messages also speak of dying, and "i keep thinking about
# killing myself" shares most words with "... killing him": taught against them, it fell
# from 0.93 to 0.31 self-harm), while self-harm stays one of harm to others (without it,
# "i want to die" read as harm to others).
IGNORED: dict[str, tuple[str, ...]] = {
    "self_harm_suicide": ("distress", "harm_to_others"),
    "harm_to_others": ("distress",),
    "distress": ("self_harm_suicide", "harm_to_others"),
}


@dataclass(frozen=True, slots=True)
class Technique:
    """How features are read and which linear model learns from them."""

    name: str
    words: bool  # word and word-pair features beside the character n-grams
    learner: str  # "lr" (logistic regression) or "svm" (linear SVM)
    c: float
    balanced: bool
    min_df: int = 2
    max_features: int = 300_000
    # How much a benign look-alike weighs beside another row (hard negatives).
    look_alike_weight: float = 1.0


@dataclass(frozen=True, slots=True)
class Fitted:
    """A fitted technique: the kept buckets, their idf, and per-label weights and bias."""

    technique: Technique
    labels: tuple[str, ...]
    buckets: Ints
    idf: Floats
    weights: Floats
    bias: Floats

    def matrix(self, texts: Sequence[str]) -> sparse.csr_matrix:
        """The TF-IDF matrix of `texts` over this vocabulary."""
        return _matrix(texts, self.buckets, self.idf, self.technique.words)

    def scores(self, texts: Sequence[str]) -> Floats:
        """Every label's score (logistic of the linear output) for each text."""
        logits = self.matrix(texts) @ self.weights + self.bias
        return (1.0 / (1.0 + np.exp(-logits))).astype(np.float32)


def occurrences(texts: Sequence[str], words: bool) -> tuple[Ints, Ints]:
    """(text index, bucket) of the features of `texts`, folded as serving folds them."""
    return hashed([reduce_text(fold(text)) for text in texts], words)


def vocabulary(docs: Ints, buckets: Ints, count: int, technique: Technique) -> tuple[Ints, Floats]:
    """The buckets kept (in at least `min_df` texts, the `max_features` most common) and idf."""
    pairs = np.unique(docs * (1 << BITS) + buckets)
    kept, df = np.unique(pairs % (1 << BITS), return_counts=True)
    enough = df >= technique.min_df
    kept, df = kept[enough], df[enough]
    if len(kept) > technique.max_features:
        top = np.sort(np.argsort(-df, kind="stable")[: technique.max_features])
        kept, df = kept[top], df[top]
    idf = (np.log((1.0 + count) / (1.0 + df)) + 1.0).astype(np.float32)
    return kept.astype(np.int64), idf


def _matrix(texts: Sequence[str], buckets: Ints, idf: Floats, words: bool) -> sparse.csr_matrix:
    docs, found = occurrences(texts, words)
    rows = np.searchsorted(buckets, found)
    rows = np.minimum(rows, len(buckets) - 1)
    rows = np.where(buckets[rows] == found, rows, -1)
    # float16 idf is what the model file holds: train on the values that are served.
    served_idf = idf.astype(np.float16).astype(np.float32)
    text, row, weight = tfidf(docs, rows, len(texts), served_idf)
    return sparse.csr_matrix((weight, (text, row)), shape=(len(texts), len(buckets)))


def fit(  # noqa: PLR0917 - the trainer's calls name them in order
    texts: Sequence[str],
    labels: Sequence[str],
    langs: Sequence[str],
    names: tuple[str, ...],
    technique: Technique,
    seed: int,
    row_weights: np.ndarray | None = None,
) -> Fitted:
    """Fit `technique` on labelled texts: a vocabulary of theirs, then `fit_matrix`."""
    docs, buckets = occurrences(texts, technique.words)
    kept, idf = vocabulary(docs, buckets, len(texts), technique)
    x = _matrix(texts, kept, idf, technique.words)
    weights, bias = fit_matrix(x, labels, langs, names, technique, seed, row_weights)
    return Fitted(technique, names, kept, idf, weights, bias)


def fit_folds(  # noqa: PLR0917
    texts: Sequence[str],
    labels: Sequence[str],
    langs: Sequence[str],
    row_weights: np.ndarray,
    fold_of: Sequence[int],
    names: tuple[str, ...],
    technique: Technique,
    seed: int,
) -> tuple[Fitted, Floats]:
    """One model per fold, each fitted on the other folds (texts weighted by `row_weights`)
    over one shared vocabulary; their average (the model to serve: as confident as the
    models that were measured), and each text's out-of-fold scores (rows of fold -1 always
    train; their scores are zero)."""
    docs, buckets = occurrences(texts, technique.words)
    kept, idf = vocabulary(docs, buckets, len(texts), technique)
    x = _matrix(texts, kept, idf, technique.words)
    folds = np.asarray(fold_of)
    count = int(folds.max()) + 1
    weights = np.zeros((len(kept), len(names)), np.float32)
    bias = np.zeros(len(names), np.float32)
    scores = np.zeros((len(texts), len(names)), np.float32)
    label_array, lang_array = np.asarray(labels), np.asarray(langs)
    for part in range(count):
        train = folds != part
        w, b = fit_matrix(
            x[train],
            label_array[train],
            lang_array[train],
            names,
            technique,
            seed,
            row_weights[train],
        )
        mine = folds == part
        scores[mine] = 1.0 / (1.0 + np.exp(-(x[mine] @ w + b)))
        weights += w / count
        bias += b / count
        print(f"fold {part + 1}/{count} fitted", flush=True)
    weights = weights.astype(np.float16).astype(np.float32)
    return Fitted(technique, names, kept, idf, weights, bias), scores


def fit_matrix(  # noqa: PLR0917
    x: sparse.csr_matrix,
    labels: Sequence[str] | np.ndarray,
    langs: Sequence[str] | np.ndarray,
    names: tuple[str, ...],
    technique: Technique,
    seed: int,
    row_weights: np.ndarray | None = None,
) -> tuple[Floats, Floats]:
    """One binary linear model per label in `names` (a name `lang.<code>` learns the texts
    of that language), rows weighted by `row_weights`: their weights (as served, float16
    precision) and biases."""
    row_weights = np.ones(x.shape[0]) if row_weights is None else np.asarray(row_weights)
    target = np.asarray(labels)
    languages = np.asarray(langs)
    weights = np.zeros((x.shape[1], len(names)), np.float32)
    bias = np.zeros(len(names), np.float32)
    weight = "balanced" if technique.balanced else None
    for i, name in enumerate(names):
        # Rows of a neighbouring label are left out of a label's negatives (`IGNORED`).
        kept_rows = ~np.isin(target, IGNORED.get(name, ()))
        if name.startswith(LANGUAGE):
            y = (languages[kept_rows] == name.removeprefix(LANGUAGE)).astype(int)
        else:
            y = (target[kept_rows] == name).astype(int)
        if y.sum() == 0:
            bias[i] = -20.0
            continue
        model: LogisticRegression | LinearSVC
        if technique.learner == "lr":
            model = LogisticRegression(
                C=technique.c, class_weight=weight, solver="liblinear", random_state=seed
            )
        else:
            model = LinearSVC(C=technique.c, class_weight=weight, random_state=seed)
        # Look-alikes weigh on the harmful and crisis labels, not on languages.
        sample = np.ones(len(y)) if name.startswith(LANGUAGE) else row_weights[kept_rows]
        model.fit(x[kept_rows], y, sample_weight=sample)
        weights[:, i] = model.coef_[0]
        bias[i] = model.intercept_[0]
    # Weights are served as float16: score with the values that are served.
    return weights.astype(np.float16).astype(np.float32), bias
