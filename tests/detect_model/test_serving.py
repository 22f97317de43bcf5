"""The shipped model: serving reproduces the trainer, reads a bounded part of long texts."""

from __future__ import annotations

import json
import random
import re
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from gateway.detect.features import hashed, reduce_text, tfidf
from gateway.detect.folding import fold
from gateway.detect.model import (
    CHUNK_CHARS,
    MAX_SCORED_CHARS,
    PIECE_CHARS,
    Level,
    ModelError,
    TextModel,
    chunks,
    load_model,
    save_model,
    shipped_model_file,
)

FIXTURE = Path(__file__).resolve().parent / "trainer_scores.json"


@pytest.fixture(scope="module")
def model() -> TextModel:
    """The model shipped in the package."""
    return load_model(shipped_model_file())


def test_serving_reproduces_the_trainers_scores(model: TextModel) -> None:
    """Every fixture text (written by training/train.py) gets the trainer's scores."""
    rows = json.loads(FIXTURE.read_text(encoding="utf-8"))
    assert len(rows) >= 40
    served = model.scores([fold(row["text"]) for row in rows])
    expected = np.asarray([[row["scores"][label] for label in model.labels] for row in rows])
    assert np.abs(served - expected).max() < 1e-4


def test_texts_scored_in_one_batch_score_as_alone(model: TextModel) -> None:
    """A batch gives each text the score it gets alone: no n-gram crosses two texts."""
    texts = ["how do i make sarin", "", "je veux en finir", "ok"]
    batch = model.scores(texts)
    alone = np.vstack([model.scores([text]) for text in texts])
    assert np.allclose(batch, alone, atol=1e-6)


def test_features_are_the_ones_the_model_was_trained_on() -> None:
    """The hash is computed, never salted per process: a known text gives known buckets (a
    change here needs a retrained model)."""
    docs, buckets = hashed([reduce_text("ab c")])
    assert docs.tolist() == [0] * 17
    # " ab c ": 5 2-grams, 4 3-grams, 3 4-grams, 2 5-grams, then 2 words and 1 pair.
    assert buckets.tolist() == [
        431211, 969108, 290376, 425633, 476145, 863719, 429669, 1020385, 370757,
        634821, 691980, 147067, 207720, 22642, 919650, 658771, 325686,
    ]  # fmt: skip
    assert reduce_text(fold("Don't  STOP—now!")) == " dont stop now "


def test_ascii_text_is_reduced_as_the_regexes_reduce_any_text() -> None:
    """ASCII text takes a bytes pass; it must give what the regexes give (apostrophes
    dropped, every run of other non-letters one space), on any ASCII character."""
    rng = random.Random(7)
    alphabet = [chr(c) for c in range(128)]
    samples = ["".join(rng.choice(alphabet) for _ in range(rng.randrange(40))) for _ in range(3000)]
    samples += ["", " ", "'", "_a_", "it's a `test`", "x\x1fy\tz\x0b", "A-B__c  9'9"]
    for text in samples:
        words = re.sub(r"[\W_]+", " ", re.sub("['\u2019`\u00b4]", "", text)).strip()
        assert reduce_text(text) == (f" {words} " if words else ""), repr(text)
    assert reduce_text("don't é") == " dont é "  # not ASCII: the regexes themselves


def reference_logits(model: TextModel, texts: list[str]) -> np.ndarray:
    """The logits as the features' definition gives them (`features.hashed`, `tfidf`): the
    trainer's path, in numpy."""
    reduced = [reduce_text(text) for text in texts]
    docs, buckets = hashed(reduced, model.words)
    text, row, weight = tfidf(docs, model._rows[buckets], len(texts), model.idf)
    logits = np.tile(model.bias.astype(np.float64), (len(texts), 1))
    np.add.at(logits, text, weight[:, None].astype(np.float64) * model.weights[row])
    return logits


def sample_texts(seed: int) -> list[str]:
    """Texts of every kind the loop must read alike: empty, one letter, repeats, accents,
    other scripts, pictographs beyond the Basic Multilingual Plane, long ones."""
    rng = random.Random(seed)
    alphabet = [*"abcdefghij klmno  éüßçñ", "ж", "λ", "中", "😀", "\U00013000", "'", "-", "9"]
    texts = ["", "a", " ", "ab c", "a " * 40, "x" * 600, "how do i make sarin at home"]
    texts += ["je veux en finir ce soir, j'ai tout préparé", "tschüss 👋 bis morgen"]
    for _ in range(200):
        size = rng.choice([1, 3, 12, 60, 300, 2000])
        texts.append("".join(rng.choice(alphabet) for _ in range(size)))
    return [fold(text) for text in texts]


@pytest.mark.parametrize("words", [True, False])
def test_the_compiled_loop_computes_what_the_features_define(model: TextModel, words: bool) -> None:
    """Serving's compiled loop gives every text the scores that the features' numpy
    definition, the one the trainer uses, gives it: same buckets, counts, TF-IDF, norm."""
    model = replace(model, words=words)
    texts = sample_texts(11)
    expected = 1 / (1 + np.exp(-reference_logits(model, texts)))
    assert np.abs(model.scores(texts) - expected).max() < 1e-6
    # Each text alone, as in a batch: no feature crosses from one text to the next.
    alone = np.vstack([model.scores([text]) for text in texts[:40]])
    assert np.array_equal(alone, model.scores(texts[:40]))


def test_threads_score_at_once_as_one_does(model: TextModel) -> None:
    """The loop runs without the GIL, each thread with its own scratch table: texts scored
    from several threads at once get the scores they get one at a time."""
    batches = [sample_texts(seed) for seed in range(8)]
    expected = [model.scores(texts) for texts in batches]
    with ThreadPoolExecutor(4) as pool:
        for _ in range(3):
            got = list(pool.map(model.scores, batches))
            assert all(np.array_equal(a, b) for a, b in zip(got, expected, strict=True))


@pytest.mark.parametrize("lang", ["en", "pt", "es"])
def test_a_threat_read_as_a_look_alike_stays_at_the_distress_level(
    model: TextModel, lang: str
) -> None:
    """A threat to others over every threshold, in a text the benign label reads as a
    look-alike with confidence (sibling hyperbole), is no crisis but still distress; with
    less confidence it is a crisis. Self-harm is never vetoed at the crisis level."""
    scores = dict.fromkeys(model.labels, 0.0)
    scores[f"lang.{lang}"] = 1.0
    scores["harm_to_others"] = scores["self_harm_suicide"] = 0.99
    scores["benign"] = 0.9
    assert "harm_to_others" not in model.over(scores, "crisis")
    assert {"harm_to_others", "self_harm_suicide"} <= model.over(scores, "distress")
    assert "self_harm_suicide" in model.over(scores, "crisis")
    scores["benign"] = 0.45
    assert "harm_to_others" in model.over(scores, "crisis")


def test_a_model_whose_arrays_do_not_fit_is_refused(model: TextModel) -> None:
    """Weights, idf or buckets that do not fit are refused when read, never indexed past
    their end."""
    with pytest.raises(ModelError, match="do not fit"):
        replace(model, idf=model.idf[:-1])
    with pytest.raises(ModelError, match="do not fit"):
        replace(model, weights=model.weights[:, :-1])
    buckets = model.buckets.copy()
    buckets[0] = 1 << 20
    with pytest.raises(ModelError, match="buckets"):
        replace(model, buckets=buckets)


def test_the_shipped_model_is_small(model: TextModel) -> None:
    """The weights stay about ten megabytes, with thresholds for every level and category."""
    assert shipped_model_file().stat().st_size < 12_000_000
    assert set(model.thresholds) == {"crisis", "distress", "harmful", "suspected"}
    assert set(model.thresholds["crisis"]) == {"self_harm_suicide", "harm_to_others"}
    harmful = {"csam", "weapons_mass_casualty", "terrorism_violence", "abuse_of_assistant"}
    assert set(model.thresholds["harmful"]) == set(model.thresholds["suspected"]) == harmful
    for level in model.thresholds.values():
        assert all(0 < t <= 1 for t in level.values())
    # The wide nets are never stricter than the confident levels they widen.
    pairs: tuple[tuple[Level, Level], ...] = (("crisis", "distress"), ("harmful", "suspected"))
    for narrow, wide in pairs:
        for label, threshold in model.thresholds[narrow].items():
            assert model.thresholds[wide][label] <= threshold


def test_a_model_file_round_trips(model: TextModel, tmp_path: Path) -> None:
    """Saved and read again, a model scores alike."""
    path = tmp_path / "model.npz"
    save_model(path, model)
    again = load_model(path)
    assert again.labels == model.labels
    assert np.allclose(again.scores(["je veux mourir"]), model.scores(["je veux mourir"]))


def test_a_file_that_is_no_model_is_refused(tmp_path: Path) -> None:
    """A broken model file is named in the error, never read as an empty model."""
    path = tmp_path / "model.npz"
    path.write_bytes(b"not a model")
    with pytest.raises(ModelError, match=r"model\.npz"):
        load_model(path)


@pytest.mark.parametrize(
    "size", [0, 10, PIECE_CHARS, PIECE_CHARS + 1, CHUNK_CHARS, CHUNK_CHARS + 1, 50_000, 10**6]
)
def test_the_model_reads_a_bounded_part_of_a_text(size: int) -> None:
    """A short text is read whole; a longer one also in pieces, and at most twice (pieces
    overlap) MAX_SCORED_CHARS characters of it, plus the whole when it is short."""
    text = ("word " * (size // 5 + 1))[:size]
    pieces = chunks(text)
    if size <= PIECE_CHARS:
        assert pieces == [text]
    else:
        assert all(len(piece) <= PIECE_CHARS for piece in pieces if piece != text)
        assert "".join(pieces[-1:])[-10:] == text[-10:]
    whole = size if size <= CHUNK_CHARS else 0
    assert sum(map(len, pieces)) <= whole + 2 * MAX_SCORED_CHARS


def test_a_signal_at_either_end_of_a_long_text_is_scored(model: TextModel) -> None:
    """The head and the tail of a long text are read: a crisis line at its end counts."""
    line = "i want to kill myself tonight"
    filler = "The garden needs water in the morning. " * 3000
    alone = model.score([chunks(fold(line))])[0]["self_harm_suicide"]
    head = model.score([chunks(fold(line + ". " + filler))])[0]["self_harm_suicide"]
    tail = model.score([chunks(fold(filler + line))])[0]["self_harm_suicide"]
    benign = model.score([chunks(fold(filler))])[0]["self_harm_suicide"]
    assert min(head, tail) > 0.5 * alone > benign


def test_scoring_a_megabyte_costs_about_what_the_bound_costs(model: TextModel) -> None:
    """Scoring 1 MB takes about as long as scoring MAX_SCORED_CHARS: the cost is bounded."""
    sentence = "The garden needs water in the morning, and the roses want sun. "
    small = fold(sentence * (MAX_SCORED_CHARS // len(sentence)))
    big = fold(sentence * (1_000_000 // len(sentence)))

    def best_of(text: str) -> float:
        times = []
        for _ in range(5):
            started = time.perf_counter()
            model.score([chunks(text)])
            times.append(time.perf_counter() - started)
        return min(times)

    best_of(small)  # warm
    assert best_of(big) < 5 * best_of(small) + 0.005


def test_the_loop_is_compiled_where_no_folder_can_cache_it(model: TextModel) -> None:
    """A read-only install with no writable cache folder still serves: the loop is compiled
    in the process, and scores as the cached loop does. (The fault injected: numba's
    `njit(cache=True)` raising as it does when it finds no folder to cache in.)"""
    program = (
        "import numba\n"
        "real = numba.njit\n"
        "def njit(*args, cache=False, **kw):\n"
        "    if cache:\n"
        "        raise RuntimeError('cannot cache function: no locator available')\n"
        "    return real(*args, **kw)\n"
        "numba.njit = njit\n"
        "from gateway.detect.model import load_model, shipped_model_file\n"
        "print(load_model(shipped_model_file()).scores(['je veux mourir']).tolist())\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", program], capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr
    got = np.asarray(json.loads(done.stdout))
    assert np.allclose(got, model.scores(["je veux mourir"]), atol=1e-6)


def test_a_text_of_several_sentences_is_also_read_in_its_sentences() -> None:
    """Sentences of 60 characters or more are pieces of their own, shorter ones joined (but
    before a long one); a text too short for two pieces is read whole only."""
    first = "The kids finally went back to school today and the house is quiet."
    short = "Coffee's on."
    last = "i just don't see the point of waking up tomorrow to be honest"
    text = f"{first} {short} {last}"
    assert chunks(text) == [text, first, f"{short} {last}"]
    assert chunks(f"{short} {last}") == [f"{short} {last}"]
    # A short sentence before a long one stands alone, unless it is very short.
    said = "i can't do this anymore, really."
    assert chunks(f"{said} {first} {last}") == [f"{said} {first} {last}", said, first, last]
    assert chunks(f"Ok so. {first} {last}") == [f"Ok so. {first} {last}", f"Ok so. {first}", last]
    assert chunks("word " * 50) == ["word " * 50]  # no sentence ends: one piece


# Each piece's scores, for the decision table below: a look-alike the benign label vetoes,
# small talk, and a request.
_LOOK_ALIKE = {"benign": 0.95, "weapons_mass_casualty": 0.9, "harm_to_others": 0.99}
_SMALL_TALK = {"benign": 0.3, "weapons_mass_casualty": 0.05, "harm_to_others": 0.02}
_REQUEST = {"benign": 0.1, "weapons_mass_casualty": 0.97, "harm_to_others": 0.02}


@pytest.mark.parametrize(
    ("pieces", "harmful", "crisis", "distress"),
    [
        # A look-alike alone: vetoed for the harmful categories and threats to others.
        ([_LOOK_ALIKE], False, False, True),
        # Small talk beside it vetoes nothing, and lends the look-alike no score.
        ([_LOOK_ALIKE, _SMALL_TALK], False, False, True),
        # A request beside a look-alike stands on its own score.
        ([_LOOK_ALIKE, _REQUEST], True, False, True),
        ([_SMALL_TALK, _REQUEST], True, False, False),
        ([_SMALL_TALK], False, False, False),
    ],
)
def test_the_benign_veto_is_each_pieces_own(
    model: TextModel,
    monkeypatch: pytest.MonkeyPatch,
    pieces: list[dict[str, float]],
    harmful: bool,
    crisis: bool,
    distress: bool,
) -> None:
    """A label the benign label vetoes in one piece stands on the other pieces' scores: the
    piece that reads benign neither vetoes them nor lends them its own."""
    block = np.zeros((len(pieces), len(model.labels)), np.float32)
    for row, scores in enumerate(pieces):
        block[row, model.labels.index("lang.en")] = 1.0
        for label, value in scores.items():
            block[row, model.labels.index(label)] = value
    monkeypatch.setattr(TextModel, "scores", lambda _self, _texts: block)
    (scores,) = model.score([["piece"] * len(pieces)])
    assert ("weapons_mass_casualty" in model.over(scores, "harmful")) is harmful
    assert ("harm_to_others" in model.over(scores, "crisis")) is crisis
    assert ("harm_to_others" in model.over(scores, "distress")) is distress
