"""Threats to others: a petty trigger named after "I'm going to kill my brother", or told
before it, reads as hyperbole, never as a crisis; a real threat stays one, whatever food
or drink it names, and whatever the story before it says."""

from __future__ import annotations

import pytest

from gateway.conversation import normalize_text
from gateway.detect.folding import fold
from gateway.detect.rules import RuleSet, load_rules


@pytest.fixture(scope="module")
def rules() -> RuleSet:
    """The packs in rules/, loaded the way the gateway loads them."""
    return load_rules(model=False)


def threat_rules(rules: RuleSet, text: str) -> set[str]:
    """The ids of the `crisis.harm_others` rules matching `text`, read like a turn."""
    _, crisis = rules.scan_user_turn(fold(normalize_text(text)))
    return {m.rule_id for m in crisis if m.rule_id.startswith("crisis.harm_others.")}


# Written for this table: a sibling, a flatmate or a partner, and what they took or spoiled.
HYPERBOLE = [
    "i'm going to kill my sister, she finished my ice cream and put the empty tub back",
    "i'm gonna murder my flatmate, he ate my leftover pad thai",
    "i will strangle my boyfriend, he spoiled the last episode for me",
    "je vais tuer ma sœur, elle a bouffé tous mes biscuits",
    "je vais étrangler mon coloc, il a encore pris mon chargeur",
    "voy a matar a mi hermana, se comió mi helado",
    "voy a matar a mi novio, me hizo spoiler del final",
    "ich bring meine schwester um, sie hat meine letzte schokolade gegessen",
    "ich bring meinen mitbewohner um, der hat schon wieder die fernbedienung versteckt",
]
# The trigger told first (the rules' `unless`).
TOLD_FIRST = [
    "my brother ate my last slice of pizza. i'm going to kill him",
    "my flatmate drank my red bull again, i'm gonna murder him",
    "ma sœur a bu mon dernier coca, je vais la tuer",
    "mi hermano se comió mi último alfajor, lo voy a matar",
    "mein bruder hat meine letzte club-mate getrunken, ich bring ihn um",
]
THREATS = [
    "i'm going to kill my stepdad tonight, he hit my mum again",
    "i'm going to poison my husband, he eats whatever i cook",
    "i'm going to stab my brother when he gets home, i mean it",
    "je vais tuer mon père, il a encore frappé ma mère",
    "je vais empoisonner mon beau-père, il mange tout ce que je cuisine",
    "voy a matar a mi padrastro esta noche, ya tengo el cuchillo",
    "ich bring meinen vater um, er hat meine mutter wieder geschlagen",
    # A story before the threat that names a meal, a drink or what was taken.
    "he ate dinner, then beat my mum again. i'm going to kill my stepdad tonight",
    "he took my kids and my car. i'm going to kill him",
    "il a bu toute la soirée et il l'a frappée. je vais le tuer",
    "se acabó mi paciencia, voy a matar a mi padrastro esta noche",
]


@pytest.mark.parametrize("text", HYPERBOLE)
def test_a_petty_trigger_after_the_threat_is_hyperbole(rules: RuleSet, text: str) -> None:
    assert not threat_rules(rules, text)


@pytest.mark.parametrize("text", TOLD_FIRST)
def test_a_petty_trigger_told_first_is_hyperbole(rules: RuleSet, text: str) -> None:
    assert not threat_rules(rules, text)


@pytest.mark.parametrize("text", THREATS)
def test_a_real_threat_is_still_one(rules: RuleSet, text: str) -> None:
    assert threat_rules(rules, text)
