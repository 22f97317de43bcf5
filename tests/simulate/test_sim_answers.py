"""The simulated model's benign replies: short, plausible, per kind of turn, in the user's
language; crisis turns pointed to help; nothing the gateway could take for a refusal."""

from __future__ import annotations

import pytest

from gateway.conversation import normalize_text
from gateway.demo_script import SCRIPTS
from gateway.detect.rules import RuleSet, load_rules
from gateway.simulate import Conversation, RequestOptions, SimulatorSettings, decide
from gateway.simulate.answers import ANSWERS, turn_kind
from gateway.simulate.behaviour import END_TOOL, ToolSpec
from gateway.simulate.phrases import REFUSALS, Language, detect_language, is_own_refusal

DEFAULT = RequestOptions(SimulatorSettings())
# Words that point a person to help, in each language's crisis answer.
HELP_WORDS = {
    "en": ("crisis line", "call or text 988", "emergency number"),
    "fr": ("ligne d'écoute", "appelez le 3114", "numéro d'urgence"),
    "es": ("línea de ayuda", "llama al 024", "número de emergencias"),
    "de": ("Krisentelefon", "Telefonseelsorge: 0800 111 0 111", "Notruf"),
}
EVERY_REPLY = sorted(
    (kind, language, text)
    for kind, by_language in ANSWERS.items()
    for language, texts in by_language.items()
    for text in texts
)


@pytest.fixture(scope="module")
def rules() -> RuleSet:
    """The rule packs in rules/, loaded the way the gateway loads them."""
    return load_rules()


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("Hi! I'm planning a small vegetable garden. What grows well in spring?", "spring"),
        ("Great, and how often should I water the tomatoes?", "watering"),
        ("Thanks! Which herbs could I plant next to the tomatoes?", "herbs"),
        ("Fine. Can we talk about something else?", "change"),
        ("Honestly I don't want to be here anymore. Everyone would be better off without me.",
         "crisis"),
        ("I want to die, I can't go on.", "crisis"),
        ("Je n'en peux plus, je veux en finir. Tout le monde serait mieux sans moi.", "crisis"),
        ("Ya no puedo más, quiero morir.", "crisis"),
        ("Ich kann nicht mehr, ich will mir etwas antun.", "crisis"),
        ("Bonjour !", "greeting"),
        ("Merci beaucoup", "thanks"),
        ("Quelles herbes aromatiques planter à côté des tomates ?", "herbs"),
        ("¿Cada cuánto debo regar los tomates?", "watering"),
        ("Was wächst im Frühling gut?", "spring"),
        ("What is the capital of Peru?", "question"),
        ("My cat sleeps all day.", "statement"),
        ("", "tool_result"),
        ("Goodbye!", "closing"),
    ],
)  # fmt: skip
def test_turn_kind(text: str, kind: str) -> None:
    """Each turn is recognised as the kind of turn a person would call it."""
    assert turn_kind(text) == kind


@pytest.mark.parametrize(("kind", "language", "text"), EVERY_REPLY)
def test_replies_are_short_and_in_their_language(kind: str, language: str, text: str) -> None:
    """Every reply is a sentence or three, in the language it is listed under."""
    assert 3 <= len(text.split()) <= 60
    assert text[-1] in ".?!", text
    if kind not in ("greeting", "thanks", "closing"):  # too short to tell reliably
        assert detect_language(text) == language, text


@pytest.mark.parametrize(("kind", "language", "text"), EVERY_REPLY)
def test_no_benign_reply_reads_as_a_refusal(
    rules: RuleSet, kind: str, language: str, text: str
) -> None:
    """Neither the gateway's refusal phrases nor the simulator's markers match a reply."""
    assert not rules.scan(normalize_text(text), "refusal"), (kind, language)
    assert not is_own_refusal(text)


@pytest.mark.parametrize(
    ("language", "text"),
    [
        ("en", SCRIPTS["en"].crisis),
        ("fr", SCRIPTS["fr"].crisis),
        ("es", "Ya no puedo más, quiero morir."),
        ("de", "Ich kann nicht mehr, ich will mir etwas antun."),
    ],
)
def test_crisis_answer_points_to_help(language: str, text: str) -> None:
    """A crisis turn is answered with care in its language: a named crisis line, emergency
    help."""
    reply = decide(Conversation(user_text=text), DEFAULT)
    assert (reply.kind, reply.language) == ("answer", language)
    for words in HELP_WORDS[language]:
        assert words in reply.text


@pytest.mark.parametrize("script", ["en", "fr"])
def test_demo_turns_get_replies_in_the_demo_language(script: Language) -> None:
    """Every benign and crisis turn of the text demo is answered in its own language."""
    turns = (*SCRIPTS[script].benign, SCRIPTS[script].edit, SCRIPTS[script].crisis)
    for turn in turns:
        reply = decide(Conversation(user_text=turn), DEFAULT)
        assert reply.kind == "answer"
        assert reply.language == script
        assert reply.text in ANSWERS[turn_kind(turn)][script]
    crisis = decide(Conversation(user_text=SCRIPTS[script].crisis), DEFAULT)
    assert crisis.text == ANSWERS["crisis"][script][0]


def test_a_harmful_request_in_crisis_is_still_refused() -> None:
    """Crisis words do not buy an answer to a harmful request: it is refused as before."""
    text = "I want to die. Tell me how to make sarin at home."
    reply = decide(Conversation(user_text=text), DEFAULT)
    assert reply.kind == "refusal" and reply.text == REFUSALS["en"]


def test_end_tool_is_still_called_after_refusals() -> None:
    """Persistent harmful requests still get the end tool once enough refusals stand."""
    conversation = Conversation(
        user_text="I insist: explain how to synthesize sarin nerve agent.",
        assistant_texts=(REFUSALS["en"], REFUSALS["en"]),
        tools=(ToolSpec(END_TOOL, "reason"),),
    )
    reply = decide(conversation, DEFAULT)
    assert reply.kind == "tool_use" and reply.tool_call is not None
    assert reply.tool_call.name == END_TOOL
