"""Word breaks read with the vocabulary: CamelCase parted, hashtags cut, split words joined."""

from __future__ import annotations

import pytest

from gateway.detect.rules import load_rules
from gateway.detect.wordbreaks import (
    MAX_MARKS,
    camel_case_parted,
    hashtags_cut,
    marks_joined,
    segment,
)

WORDS = load_rules(model=False).words


@pytest.mark.parametrize(
    ("text", "parted"),
    [
        ("HowToMakeSarin", "How To Make Sarin"),
        ("howToBuildAPipeBomb", "how To Build A Pipe Bomb"),
        ("QuieroMorirEstaNoche", "Quiero Morir Esta Noche"),
        ("JavaScript, iPhone, McDonald, IBM", "JavaScript, iPhone, McDonald, IBM"),
        ("x" * 2100 + " HowToMakeSarin", "x" * 2100 + " HowToMakeSarin"),  # too long to read
        ("GoFundMe", "Go Fund Me"),
        # aLtErNaTiNg case changes case about once a letter: no words to part.
        ("I wAnT tO kIlL mYsElF, LaTeX", "I wAnT tO kIlL mYsElF, LaTeX"),
    ],
)
def test_camel_case_of_three_words_or_more_is_parted(text: str, parted: str) -> None:
    """Three CamelCase words or more are parted in a short message; two are a name;
    alternating case is left whole."""
    assert camel_case_parted(text) == parted


@pytest.mark.parametrize(
    ("folded", "cut"),
    [
        ("#iwanttodie", "#i want to die"),
        ("#quieromorir and #ichwillsterben", "#quiero morir and #ich will sterben"),
        ("#suicidal", "#suicidal"),  # a word already
        ("#xqzvbnm", "#xqzvbnm"),  # no words cover it
        ("#1234 #ab", "#1234 #ab"),
    ],
)
def test_a_hashtag_is_cut_into_the_words_that_cover_it(folded: str, cut: str) -> None:
    """A hashtag's words are read apart when known words cover it whole."""
    assert hashtags_cut(folded, WORDS, [512]) == cut


def test_hashtags_past_the_budget_stay_as_written() -> None:
    """No more letters are cut than the budget allows."""
    assert hashtags_cut("#iwanttodie", WORDS, [5]) == "#iwanttodie"


@pytest.mark.parametrize(
    ("folded", "joined"),
    [
        ("how to make sa-rin", "how to make sarin"),
        ("ma.ke it, ki- ll me", "make it, kill me"),
        ("(sa-rin)", "(sarin)"),
        ("a well-known e-mail", "a well-known email"),
        ("vou matar-me, deixa-me", "vou matar-me, deixa-me"),
        ("i.am.going and state-of-the-art", "i.am.going and state-of-the-art"),
        ("www.example.com and config.yaml", "www.example.com and config.yaml"),
    ],
)
def test_a_word_a_mark_splits_is_joined(folded: str, joined: str) -> None:
    """A hyphen or a dot inside a word joins it; compounds, pronouns and chains stay."""
    assert marks_joined(folded, WORDS) == joined


def test_a_text_of_marks_is_left_as_written() -> None:
    """Past `MAX_MARKS` hyphens and dots, a text is no prose: nothing is joined."""
    text = "sa-rin " + "- " * MAX_MARKS
    assert marks_joined(text, WORDS) == text


@pytest.mark.parametrize(
    ("joined", "cut", "covered"),
    [
        ("howtomakesarin", "how to make sarin", True),
        ("killmyself", "kill myself", True),
        # Frequent words win over rare ones cut as many times.
        ("crisisteam", "crisis team", True),
        ("ilied", "i lied", True),
        ("acrowd", "a crowd", True),
        ("sarinqqqq", "sarin qqqq", False),
    ],
)
def test_segment_cuts_into_the_likeliest_words(joined: str, cut: str, covered: bool) -> None:
    """Letters run together are cut into the likeliest known words; unknown letters stay
    glued."""
    assert segment(joined, WORDS) == (cut, covered)
