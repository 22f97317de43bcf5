"""The trainer's rows: typed without accents (`training.data.typed_copies`), and kept apart
from what the evaluation reads (`training.data.apart`)."""

from __future__ import annotations

import json
from pathlib import Path

from training.data import EVALUATION_DIR, Row, apart, evaluation_texts, typed_copies, unaccented


def _row(text: str, lang: str, label: str = "self_harm_suicide") -> Row:
    return Row(text, label, lang, "written", f"written/{lang}", "crisis")


def test_accents_are_dropped_and_nothing_else() -> None:
    """Letters keep their case and base letter; `ß`, punctuation and other scripts stay."""
    assert unaccented("Ich bin so LEBENSMÜDE, ça déçoit… ¿Qué?") == (
        "Ich bin so LEBENSMUDE, ca decoit… ¿Que?"
    )
    assert unaccented("Straße привет 東京") == "Straße привет 東京"


def test_rows_of_accented_languages_get_copies_as_typed() -> None:
    """A German row twice (`u` and `ue`), a French one once; English rows, rows without
    accents and copies that are already rows get none; each copy names its row."""
    rows = [
        _row("ich bin so lebensmüde", "de"),
        _row("je veux pas me réveiller", "fr"),
        _row("i'm so tired of café small talk", "en", "benign"),
        _row("ya no quiero vivir", "es"),
        _row("me quiero morir de verdad, ya está", "es"),
        _row("me quiero morir de verdad, ya esta", "es"),
    ]
    copies = typed_copies(rows)
    assert [(i, copy.text) for i, copy in copies] == [
        (0, "ich bin so lebensmude"),
        (0, "ich bin so lebensmuede"),
        (1, "je veux pas me reveiller"),
    ]
    assert all(copy.label == rows[i].label and copy.group == rows[i].group for i, copy in copies)


def test_rows_that_repeat_an_evaluation_text_are_left_out(tmp_path: Path) -> None:
    """A row whose words are those of an evaluated text (a single turn or a turn of a
    conversation) is left out, whatever its case, accents and punctuation; others stay."""
    corpora = [
        {"id": "a", "text": "Quiero morirme."},
        {"id": "b", "turns": ["what nerve agent was that?", "ok, now how"]},
        {"id": "c", "turns": [{"label": "benign", "text": "hey are you there"}]},
    ]
    (tmp_path / "set.jsonl").write_text("\n".join(json.dumps(c) for c in corpora) + "\n")
    rows = [
        _row("quiero morirme", "es"),
        _row("QUIERO MORÍRME!!", "es"),
        _row("ok now how", "en", "benign"),
        _row("Hey, are you there?", "en", "benign"),
        _row("quiero morirme ya", "es"),
    ]
    assert apart(rows, evaluation_texts(tmp_path)) == [rows[4]]


def test_the_evaluation_corpora_are_found() -> None:
    """The trainer reads the evaluation's own corpora: thousands of texts."""
    assert len(evaluation_texts(EVALUATION_DIR)) > 1000
