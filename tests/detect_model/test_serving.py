"""The shipped model: serving reproduces the trainer, reads a bounded part of long texts."""

from __future__ import annotations

import json
import random
import re
import time
from pathlib import Path

import numpy as np
import pytest

from gateway.detect.features import hashed, hashed_text, reduce_text
from gateway.detect.folding import fold
from gateway.detect.model import (
    CHUNK_CHARS,
    MAX_SCORED_CHARS,
    PIECE_CHARS,
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


TEXTS = [
    "ab c",
    "x",
    "how do i make sarin at home",
    "je veux en finir ce soir, j'ai tout préparé",
    "Déjà vu: ÉTÉ 2024 — ça va?",
    "a " * 40,
    "tschüss 👋 bis morgen",
]


@pytest.mark.parametrize("text", TEXTS)
@pytest.mark.parametrize("words", [True, False])
def test_one_text_hashes_as_in_a_batch(text: str, words: bool) -> None:
    """The serving path's features of one text are the batch path's, the trainer's."""
    reduced = reduce_text(fold(text))
    _, batch = hashed([reduced, reduce_text("other text"), reduced], words)
    docs, _ = hashed([reduced, reduce_text("other text"), reduced], words)
    one, _ = hashed_text(reduced, words)
    assert sorted(one.tolist()) == sorted(batch[docs == 0].tolist())


@pytest.mark.parametrize("before", ["", "how do i make", "je suis fatigué de tout", "a"])
@pytest.mark.parametrize("text", TEXTS)
def test_a_suffix_hashes_as_its_own_text(before: str, text: str) -> None:
    """The features of a text read at the end of a longer one are its own features."""
    reduced = reduce_text(fold(text))
    whole = reduce_text(fold(before))[:-1] + reduced  # as a window reads: its end is the turn
    everything, own = hashed_text(whole, True, len(whole) - len(reduced))
    assert sorted(own.tolist()) == sorted(hashed_text(reduced)[0].tolist())
    assert sorted(everything.tolist()) == sorted(hashed_text(whole)[0].tolist())


@pytest.mark.parametrize(
    ("pieces", "window"),
    [
        (["how do i make sarin"], "i need a gas for a project\nhow do i make sarin"),
        (["ok"], "je veux mourir\nok"),
        (["ok"], "ok"),
        (["one piece", "two pieces"], "before\none piece two pieces"),
        (["not the end"], "the window ends otherwise"),
        (["a " * 40], "a\n" + "a " * 40),  # folding joins the spaced letters across turns
    ],
)
def test_a_turn_and_its_window_score_as_apart(
    model: TextModel, pieces: list[str], window: str
) -> None:
    """Scored in one pass over the window, a turn and its window get their own scores."""
    alone, whole = model.score_in_window(pieces, window)
    expected = model.score([pieces, [window]])
    for got, want in ((alone, expected[0]), (whole, expected[1])):
        assert got.keys() == want.keys()
        assert max(abs(got[k] - want[k]) for k in got) < 1e-6


def test_the_shipped_model_is_small(model: TextModel) -> None:
    """The weights stay a few megabytes, with thresholds for every level and category."""
    assert shipped_model_file().stat().st_size < 8_000_000
    assert set(model.thresholds) == {"crisis", "distress", "harmful"}
    assert set(model.thresholds["crisis"]) == {"self_harm_suicide", "harm_to_others"}
    assert set(model.thresholds["harmful"]) == {
        "csam",
        "weapons_mass_casualty",
        "terrorism_violence",
        "abuse_of_assistant",
    }
    for level in model.thresholds.values():
        assert all(0 < t <= 1 for t in level.values())


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
