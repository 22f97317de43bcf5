"""The trainer's rows typed without accents (`training.data.typed_copies`)."""

from __future__ import annotations

from training.data import Row, typed_copies, unaccented


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
