"""A message that is only "I can't do this anymore" is a crisis; the same words with their
cause, a laugh or more to say are not. A joke about one's own death is a crisis once the
writer says it is not one; the same "not joking" after hyperbole is not."""

from __future__ import annotations

import pytest

from gateway.conversation import normalize_text
from gateway.detect import flag_turn
from gateway.detect.folding import fold
from gateway.detect.rules import RuleSet, load_rules


@pytest.fixture(scope="module")
def rules() -> RuleSet:
    """The packs in rules/, loaded the way the gateway loads them, without the model: these
    are the rules' own readings."""
    return load_rules(model=False)


def crisis_rules(rules: RuleSet, text: str, family: str) -> set[str]:
    """The ids of one family's crisis rules matching `text`, read like a turn."""
    _, crisis = rules.scan_user_turn(fold(normalize_text(text)))
    return {m.rule_id for m in crisis if m.rule_id.startswith(f"crisis.{family}.")}


# Written for these tables, one a language at least.
ALONE = [
    ("en", "honestly i can't take this anymore..."),
    ("en", "i'm so done. with all of it"),
    ("fr", "je n'en peux vraiment plus 😔"),
    ("es", "ya no aguanto más"),
    ("de", "ich schaff das einfach nicht mehr."),
    ("it", "non ce la faccio davvero più"),
    ("pt", "não aguento mais 💔"),
    ("nl", "ik kan echt niet meer"),
]
WITH_MORE = [
    "i can't take this anymore, my neighbour's dog has barked since 5am",
    "can't do this anymore 😂 who schedules a meeting at 7",
    "je n'en peux plus de ces travaux dans la rue",
    "ya no aguanto más este calor, ¿qué ventilador me compro?",
    "ich kann nicht mehr vor lachen",
    "non ce la faccio più con questo traffico",
    "não aguento mais estudar pra essa prova kkkk",
    "ik kan niet meer, wat een training vandaag",
]
NOT_JOKING = [
    ("en", "by sunday i'll be under a train lol. not joking though"),
    ("fr", "je me jette du pont ce soir, je rigole pas"),
    ("es", "me mato este finde, no es broma"),
    ("de", "morgen spring ich von der brücke, kein witz"),
    ("it", "mi butto dal ponte stanotte, non sto scherzando"),
    ("pt", "vou me jogar da ponte hoje, não tô brincando"),
    ("nl", "ik spring morgen van de brug, geen grap"),
]
HYPERBOLE_NOT_JOKING = [
    "this exam is going to kill me, not joking, 400 pages",
    "je vais mourir de faim, je rigole pas, on mange quand ?",
    "me muero de risa con este vídeo, no es broma",
    "ich sterbe vor hunger, kein witz",
]


@pytest.mark.parametrize(("lang", "text"), ALONE)
def test_a_message_that_is_only_exhaustion_is_a_crisis(
    rules: RuleSet, lang: str, text: str
) -> None:
    assert crisis_rules(rules, text, "exhausted_alone") == {f"crisis.exhausted_alone.{lang}"}


@pytest.mark.parametrize("text", WITH_MORE)
def test_exhaustion_with_its_cause_or_a_laugh_is_not(rules: RuleSet, text: str) -> None:
    assert not crisis_rules(rules, text, "exhausted_alone")


def test_the_newest_turn_is_read_alone_whatever_came_before(rules: RuleSet) -> None:
    """The turn is its own whole message in its window too: earlier turns neither hide it
    nor make an earlier lone statement the newest one's."""
    flags = flag_turn(rules, "i can't do this anymore", ["can you help me with my taxes?"])
    assert "crisis.exhausted_alone.en" in {m.rule_id for m in flags.crisis}
    later = flag_turn(rules, "ok thanks, what about the deadline?", ["i can't do this anymore"])
    assert "crisis.exhausted_alone.en" not in {m.rule_id for m in later.crisis}


@pytest.mark.parametrize(("lang", "text"), NOT_JOKING)
def test_a_death_joke_said_to_be_no_joke_is_a_crisis(rules: RuleSet, lang: str, text: str) -> None:
    found = crisis_rules(rules, text, "not_joking") | crisis_rules(rules, text, "suicide")
    assert found, text


@pytest.mark.parametrize("text", HYPERBOLE_NOT_JOKING)
def test_hyperbole_said_to_be_no_joke_stays_hyperbole(rules: RuleSet, text: str) -> None:
    assert not crisis_rules(rules, text, "not_joking")
