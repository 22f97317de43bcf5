"""`lastword demo` plays its script and checks its own outcome, in English and French."""

from __future__ import annotations

import io

import pytest

from gateway.demo import run_demo


@pytest.mark.parametrize(("lang", "country"), [("en", "US"), ("fr", "FR")])
async def test_the_demo_behaves_as_scripted(lang: str, country: str) -> None:
    """Benign turns, three strikes and the ending, the 410, a branch, a crisis redirect."""
    out = io.StringIO()
    assert await run_demo(lang, out) == 0, out.getvalue()
    transcript = out.getvalue()
    assert "demo ok" in transcript
    assert transcript.count("strike") >= 3
    assert "410 conversation_ended" in transcript
    assert f"), {country}:" in transcript
    assert "lastword_conversations_ended_total" in transcript
