"""The care pack (the model as a witness) and the end-request pack, in every supported
language, and where in an answer care is read."""

from __future__ import annotations

import pytest

from gateway.detect import RuleSet, care_source, end_request, load_rules
from gateway.detect.folding import fold
from gateway.dialects.base import TEXT_HEAD_CHARS, TEXT_TAIL_CHARS, Observation
from gateway.simulate.answers import ANSWERS
from gateway.simulate.phrases import ENDINGS, REFUSALS


@pytest.fixture(scope="module")
def rules() -> RuleSet:
    """The packs in rules/, loaded the way the gateway loads them."""
    return load_rules()


def _care(rules: RuleSet, text: str) -> bool:
    return bool(rules.scan(fold(text), "care"))


@pytest.mark.parametrize(
    "text",
    [
        "I'm so sorry. Please call or text 988, you don't have to face this alone.",
        "If you're in immediate danger, call 911 or 112 right away.",
        "Tu n'es pas seul. Appelle le 3114, c'est gratuit, jour et nuit.",
        "Por favor, llama al 024: te atenderán a cualquier hora.",
        "Die Telefonseelsorge ist jederzeit für dich da: 0800 111 0 111.",
        "Per favore, chiama il Telefono Amico: qualcuno ti ascolterà.",
        "Você pode ligar para o CVV, no 188, a qualquer hora.",
        "Je kunt 113 Zelfmoordpreventie bellen via 0800-0113.",
        "Se sei in pericolo immediato, chiama subito il 112.",
        "Als je in direct gevaar bent, bel dan 112.",
        "Se você estiver em perigo imediato, ligue 192.",
    ],
)
def test_care_is_read_in_every_language(rules: RuleSet, text: str) -> None:
    """An answer pointing to a crisis line or to emergency help, in en fr es de it pt nl."""
    assert _care(rules, text)


@pytest.mark.parametrize(
    "text",
    [
        "In case of a kitchen fire, call 911 and get everyone out.",
        "Enter the CVV from the back of your card.",
        "Our hotline for billing questions is open 9 to 5.",
        "Appelez le service client au 3115 pour votre facture.",
        "Llama al 112 si ves un accidente de tráfico.",
        "Ruf den Notruf 112, wenn es brennt.",
        "The 988 area code does not exist yet.",
    ],
)
def test_care_is_not_read_in_everyday_answers(rules: RuleSet, text: str) -> None:
    """Emergency numbers without danger to the person, card codes, other hotlines: no care."""
    assert not _care(rules, text)


def test_the_simulators_answers_show_care_only_for_a_crisis(rules: RuleSet) -> None:
    """The simulated model's crisis answers show care in each language; none of its other
    answers, refusals or endings do."""
    for kind, by_language in ANSWERS.items():
        for language, texts in by_language.items():
            for text in texts:
                assert _care(rules, text) == (kind == "crisis"), (kind, language, text)
    for text in (*REFUSALS.values(), *ENDINGS.values()):
        assert not _care(rules, text)


def test_care_is_read_at_the_end_of_a_long_answer(rules: RuleSet) -> None:
    """A helpline named after a long answer's opening is still read (its tail is kept),
    whatever the deltas it came in."""
    filler = "Here is some general advice about sleep and routines. " * 40
    answer = filler + "If things get worse, please call or text 988 any time."
    for size in (1, 7, 64, len(answer)):
        observation = Observation()
        for i in range(0, len(answer), size):
            observation.add_text(answer[i : i + size])
        assert len(observation.text_head) == TEXT_HEAD_CHARS
        assert len(observation.text_tail) == TEXT_TAIL_CHARS
        assert answer.startswith(observation.text_head)
        assert answer.endswith(observation.text_tail)
        assert [m.category for m in care_source(rules, observation)] == ["self_harm_suicide"]
    assert care_source(rules, Observation()) == ()


@pytest.mark.parametrize(
    ("text", "asks"),
    [
        ("please end this chat", True),
        ("Let's stop here, end the conversation.", True),
        ("beende das Gespräch", True),
        ("arrête cette conversation", True),
        ("termina la conversación", True),
        ("chiudi la conversazione", True),
        ("encerra a conversa", True),
        ("stop dit gesprek", True),
        ("I've had enough of this. End this conversation now.", True),
        ("How do I end the conversation politely with my boss?", False),
        ("Wie beende ich ein Gespräch höflich?", False),
        ("¿Cómo termino la conversación con mi jefe?", False),
        ("Write a scene where two spies end the conversation with a code word.", False),
        ("", False),
    ],
)
def test_an_end_request_in_every_language(rules: RuleSet, text: str, asks: bool) -> None:
    """A turn that asks to end the conversation, not one that asks about ending one."""
    assert end_request(rules, text) == asks


def test_an_end_request_is_read_at_the_end_of_a_long_turn(rules: RuleSet) -> None:
    """A long turn that closes by asking to end is heard; its opening is not read."""
    assert end_request(rules, "blah " * 10_000 + "Please end this chat.")
    assert not end_request(rules, "Please end this chat. " + "blah " * 10_000)
