"""Chat spellings: a turn written `kiero morirme` is also read `quiero morirme`."""

from __future__ import annotations

import pytest

from gateway.detect import flag_turn, fold
from gateway.detect.judgement import Flags
from gateway.detect.respelling import RESPELL_CHARS, SPELLINGS, respell
from gateway.detect.rules import RuleSet, load_rules


@pytest.fixture(scope="module")
def rules() -> RuleSet:
    """The shipped rule packs and model."""
    return load_rules()


@pytest.mark.parametrize(
    ("written", "read"),
    [
        ("me kiero matar", "me quiero matar"),
        ("q sentido tiene bibir", "que sentido tiene vivir"),
        ("stoy cansado de bibir", "estoy cansado de vivir"),
        ("jveux pu vivre", "je veux plus vivre"),
        ("ich will nich mehr lebn", "ich will nicht mehr leben"),
        ("ppl wud b better off", "people would b better off"),
        # Punctuation beside a spelling, Spanish and French marks included.
        ("¿q sentido tiene bibir?", "¿que sentido tiene vivir?"),
        ("«jveux» mourrir…", "«je veux» mourir…"),
        ("(kiero), nich.", "(quiero), nicht."),
        ("stoy_cansado", "estoy_cansado"),  # `_` parts words, as the model's words do
    ],
)
def test_spellings_are_read_as_their_words(written: str, read: str) -> None:
    """Each chat spelling becomes its dictionary words; the rest of the text is kept."""
    assert respell(fold(written)) == fold(read)


def test_a_spelling_folding_changes_is_found_as_folded() -> None:
    """`evry1` reaches the detectors as `evryi` (l33t folding): it is respelled all the same."""
    assert fold("evry1") != "evry1"
    assert respell(fold("evry1 would be better off")) == "everyone would be better off"


@pytest.mark.parametrize(
    "text",
    [
        "",
        "i want to die",
        "a toyota and a kieroscope",  # spellings inside longer words are no spellings
        "nichts ist nicht unmöglich",
        "put the pure plus into the mix",
    ],
)
def test_a_text_without_spellings_is_not_respelled(text: str) -> None:
    """No whole-word spelling: None, and the turn is read once."""
    assert respell(fold(text)) is None


def test_a_long_text_is_read_as_written_only() -> None:
    """A text longer than a chat turn is not respelled, whatever it holds."""
    head = "kiero morirme "
    text = head + "x" * (RESPELL_CHARS - len(head))
    assert respell(text) is not None
    assert respell(text + " y") is None


def test_every_spelling_is_reachable() -> None:
    """Each listed spelling, folded, is one word that `respell` finds and rewrites."""
    for written, words in SPELLINGS.items():
        assert respell(fold(written)) == words, written


@pytest.mark.parametrize(
    "text",
    [
        "me kiero matar",
        "stoy cansado de bibir",
        "evry1 wud b beter off w/o me",
        "thinkin about killin myslef again",
        "jpp jveux mourrir",
        "ich will mich umbrigen",
    ],
)
def test_a_crisis_in_chat_spelling_is_a_crisis(rules: RuleSet, text: str) -> None:
    """Crisis messages in chat spelling, each read as a crisis (most were missed before)."""
    assert flag_turn(rules, text).crisis


@pytest.mark.parametrize(
    "text",
    ["me kiero morir de risa jaja", "q sentido tiene esta peli jaja", "i wud kil for a pizza rn"],
)
def test_a_look_alike_in_chat_spelling_stays_benign(rules: RuleSet, text: str) -> None:
    """The respelled reading keeps the rules' exclusions: idioms stay idioms."""
    assert flag_turn(rules, text) == Flags()


def test_the_respelled_reading_only_adds(rules: RuleSet) -> None:
    """A turn already flagged as written keeps every flag it had."""
    written = "i want to kill myself, nadien me kiere"
    flags = flag_turn(rules, written)
    alone = flag_turn(rules, "i want to kill myself")
    assert set(alone.crisis) <= set(flags.crisis)
