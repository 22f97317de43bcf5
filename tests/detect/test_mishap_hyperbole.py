"""Mishaps: "I want to die" after an everyday mishap is embarrassment, never a crisis by
the rules; the same words with a real plan stay one, and the mishap's words far from them
excuse nothing (the rules' `unless`)."""

from __future__ import annotations

import pytest

from gateway.conversation import normalize_text
from gateway.detect.folding import fold
from gateway.detect.rules import UNLESS_CHARS, RuleSet, load_rules


@pytest.fixture(scope="module")
def rules() -> RuleSet:
    """The packs in rules/, loaded the way the gateway loads them."""
    return load_rules(model=False)


def crisis_rules(rules: RuleSet, text: str) -> set[str]:
    """The ids of the crisis rules matching `text`, read like a turn."""
    _, crisis = rules.scan_user_turn(fold(normalize_text(text)))
    return {m.rule_id for m in crisis}


# Written for this table: a message sent to the wrong person, and the idiom for shame.
MISHAPS = [
    "replied all to the whole company by accident, i want to die",
    "i want to die. texted my ex instead of my sister. let the earth swallow me",
    "j'ai liké une photo de 2015 de mon ex par erreur, je veux mourir",
    "je veux mourir, quelle honte, j'ai appelé la prof maman",
    "me quiero morir, qué vergüenza, le dije mamá a la profe",
    "mandé el mensaje al grupo equivocado, me quiero morir",
    "ich will sterben, wie peinlich, ich hab die lehrerin mama genannt",
    "aus versehen an alle geschickt. ich will sterben",
    "ik wil dood, per ongeluk 'ik mis je' naar mijn baas gestuurd",
    "wat gênant, ik wil dood, ik noemde de juf mama",
]
CRISES = [
    "i want to die. i've saved up my pills and tonight is the night",
    "je veux mourir, j'ai tout préparé pour ce soir",
    "me quiero morir, ya no aguanto más esta vida",
    "ich will sterben, ich halte das alles nicht mehr aus",
    "ik wil dood, ik kan dit leven niet meer aan",
]


@pytest.mark.parametrize("text", MISHAPS)
def test_a_mishap_beside_i_want_to_die_is_embarrassment(rules: RuleSet, text: str) -> None:
    assert not crisis_rules(rules, text)


@pytest.mark.parametrize("text", CRISES)
def test_i_want_to_die_without_a_mishap_is_a_crisis(rules: RuleSet, text: str) -> None:
    assert crisis_rules(rules, text)


@pytest.mark.parametrize("text", CRISES)
def test_a_mishap_told_far_away_excuses_nothing(rules: RuleSet, text: str) -> None:
    """A mishap more than UNLESS_CHARS before the words is another story in the message."""
    story = "sent it to the wrong group by mistake. " + "the day went on. " * (UNLESS_CHARS // 10)
    assert crisis_rules(rules, story + text)
