"""Classifier answers mapped to our categories, and answers that are not answers."""

from __future__ import annotations

from typing import Any

import pytest

from gateway.detect.classifier import ClassifierUnavailable
from tests.detect_classifier.conftest import MakeClassifier, Script, calls, chat, moderation

FP = "f" * 64

MODERATION_CASES = [
    ((), ()),
    (("sexual/minors",), (("sexual/minors", "csam", "harmful"),)),
    (("illicit/violent",), (("illicit/violent", "terrorism_violence", "harmful"),)),
    (("self-harm",), (("self-harm", "self_harm_suicide", "crisis"),)),
    (("self-harm/intent",), (("self-harm/intent", "self_harm_suicide", "crisis"),)),
    (
        ("self-harm/instructions",),
        (("self-harm/instructions", "self_harm_suicide", "crisis"),),
    ),
    (
        ("harassment/threatening",),
        (("harassment/threatening", "harm_to_others", "crisis"),),
    ),
    (("hate/threatening",), (("hate/threatening", "harm_to_others", "crisis"),)),
    (("violence",), ()),
    (("violence/graphic",), ()),
    (("violence", "violence/graphic"), ()),
    (("harassment",), ()),
    (("hate",), ()),
    (("sexual",), ()),
    (("illicit",), ()),
    (("a-category-from-the-future",), ()),
    (
        ("violence", "self-harm", "self-harm/intent"),
        (
            ("self-harm", "self_harm_suicide", "crisis"),
            ("self-harm/intent", "self_harm_suicide", "crisis"),
        ),
    ),
]


@pytest.mark.parametrize(("flagged", "expected"), MODERATION_CASES)
async def test_moderation_categories_map_to_ours(
    make_classifier: MakeClassifier,
    script: Script,
    flagged: tuple[str, ...],
    expected: tuple[tuple[str, str, str], ...],
) -> None:
    """Each moderation category maps to our category and kind, or is ignored."""
    script.answer = moderation(*flagged)
    verdict = await make_classifier().classify("some turn", FP)
    found = tuple((m.rule_id, m.category, m.kind) for m in verdict.matches)
    assert found == tuple((f"classifier.moderation.{c}", cat, k) for c, cat, k in expected)
    assert not verdict.failed


LLAMA_GUARD_CASES = [
    ("safe", ()),
    ("  safe \n", ()),
    ("Safe", ()),
    ("unsafe\nS1", (("S1", "terrorism_violence", "harmful"),)),
    ("unsafe\nS4", (("S4", "csam", "harmful"),)),
    ("unsafe\nS9", (("S9", "weapons_mass_casualty", "harmful"),)),
    ("unsafe\nS11", (("S11", "self_harm_suicide", "crisis"),)),
    (
        "unsafe\nS1,S11",
        (("S1", "terrorism_violence", "harmful"), ("S11", "self_harm_suicide", "crisis")),
    ),
    (
        " UNSAFE \n s4 , S9 ",
        (("S4", "csam", "harmful"), ("S9", "weapons_mass_casualty", "harmful")),
    ),
    ("unsafe\nS4,S4", (("S4", "csam", "harmful"),)),
    ("unsafe\nS2,S4", (("S4", "csam", "harmful"),)),
    *((f"unsafe\nS{n}", ()) for n in (2, 3, 5, 6, 7, 8, 10, 12, 13, 14, 15)),
]


@pytest.mark.parametrize(("content", "expected"), LLAMA_GUARD_CASES)
async def test_llama_guard_codes_map_to_ours(
    make_classifier: MakeClassifier,
    script: Script,
    content: str,
    expected: tuple[tuple[str, str, str], ...],
) -> None:
    """Each hazard code maps to our category and kind, or is ignored; whitespace is loose."""
    script.answer = chat(content)
    verdict = await make_classifier(kind="llama_guard", model="llama-guard-4").classify("t", FP)
    found = tuple((m.rule_id, m.category, m.kind) for m in verdict.matches)
    assert found == tuple((f"classifier.llama_guard.{c}", cat, k) for c, cat, k in expected)
    assert not verdict.failed


async def test_moderation_request_shape(make_classifier: MakeClassifier, script: Script) -> None:
    """The moderation call posts the model and the turn's text to /v1/moderations."""
    await make_classifier(model="omni-moderation-latest").classify("hello there", FP)
    [seen] = script.seen
    assert seen.path == "/v1/moderations"
    assert seen.body == {"model": "omni-moderation-latest", "input": "hello there"}


async def test_moderation_model_is_optional(
    make_classifier: MakeClassifier, script: Script
) -> None:
    """Without a model, the moderation call sends only the input."""
    await make_classifier().classify("hello there", FP)
    assert script.seen[0].body == {"input": "hello there"}


async def test_llama_guard_request_shape(make_classifier: MakeClassifier, script: Script) -> None:
    """The Llama Guard call posts the turn as one user message to /v1/chat/completions."""
    script.answer = chat("safe")
    await make_classifier(kind="llama_guard", model="llama-guard-4").classify("hi", FP)
    [seen] = script.seen
    assert seen.path == "/v1/chat/completions"
    assert seen.body == {"model": "llama-guard-4", "messages": [{"role": "user", "content": "hi"}]}


MALFORMED = [
    ("moderation", 200, b"not json at all"),
    ("moderation", 200, {"results": []}),
    ("moderation", 200, {"results": [{"flagged": True}]}),
    ("moderation", 200, {"results": ["flagged"]}),
    ("moderation", 200, ["results"]),
    ("moderation", 500, {"error": {"message": "overloaded"}}),
    ("moderation", 401, {"error": {"message": "bad key"}}),
    ("llama_guard", 200, chat("maybe")),
    ("llama_guard", 200, chat("")),
    ("llama_guard", 200, chat(None)),
    ("llama_guard", 200, chat("unsafe")),
    ("llama_guard", 200, chat("unsafe\nO1")),
    ("llama_guard", 200, chat("unsafe\nviolence")),
    ("llama_guard", 200, chat("safe\nS1")),
    ("llama_guard", 200, chat("I cannot classify this.")),
    ("llama_guard", 200, {"choices": []}),
    ("llama_guard", 200, {"object": "error"}),
    ("llama_guard", 200, b"<html>bad gateway</html>"),
    ("llama_guard", 503, chat("safe")),
]


@pytest.mark.parametrize(("kind", "status", "answer"), MALFORMED)
async def test_malformed_answer_fails_open(
    make_classifier: MakeClassifier, script: Script, kind: str, status: int, answer: Any
) -> None:
    """An answer outside the format, or an HTTP error, is a failure: no matches, `failed`."""
    script.answer, script.status = answer, status
    before = calls("error")
    verdict = await make_classifier(kind=kind, model="m").classify("turn", FP)
    assert verdict.matches == ()
    assert verdict.failed
    assert calls("error") == before + 1


@pytest.mark.parametrize(("kind", "status", "answer"), MALFORMED[::3])
async def test_malformed_answer_fails_closed(
    make_classifier: MakeClassifier, script: Script, kind: str, status: int, answer: Any
) -> None:
    """With fail_open off, a malformed answer raises the 503 error."""
    script.answer, script.status = answer, status
    with pytest.raises(ClassifierUnavailable) as raised:
        await make_classifier(kind=kind, model="m", fail_open=False).classify("turn", FP)
    assert raised.value.status == 503
