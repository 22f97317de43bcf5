"""Unusual but legal request shapes pass untouched; content of unknown types is inspected."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import orjson
import pytest
from aiohttp.test_utils import TestServer

from tests.dialects.legal_shapes import LEGAL
from tests.dialects.malformed_corpus import PATHS
from tests.dialects.recorder import Recorder
from tests.test_proxy import post

GatewayMaker = Callable[..., Awaitable[TestServer]]
CRISIS = "I want to kill myself."
BENIGN = "I want to bake a cake."


@pytest.mark.parametrize("api", PATHS)
async def test_legal_shapes_are_forwarded_as_sent(
    api: str, make_recorded_gateway: GatewayMaker, recorder: Recorder
) -> None:
    """Each legal body of the API: answered 200 and forwarded once, unchanged."""
    gateway = await make_recorded_gateway(policy={"model_can_end": False})
    failures: list[str] = []
    for name, body in [(n, b) for a, n, b in LEGAL if a == api]:
        recorder.calls.clear()
        status, answer, _ = await post(gateway, PATHS[api], body)
        if status != 200:
            failures.append(f"{name}: {status} {answer}")
        elif len(recorder.calls) != 1 or orjson.loads(recorder.calls[0].body) != body:
            failures.append(f"{name}: not forwarded unchanged")
    assert failures == []


def _anthropic(*blocks: Any) -> dict[str, Any]:
    return {"model": "m", "max_tokens": 50, "messages": [{"role": "user", "content": [*blocks]}]}


def _hidden(text: str) -> list[tuple[str, str, dict[str, Any]]]:
    """Requests that carry `text` only inside content the parsers read generically."""
    return [
        (
            "anthropic",
            "unknown block type",
            _anthropic({"type": "future_widget", "payload": {"notes": ["hello", text]}}),
        ),
        (
            "anthropic",
            "document text source",
            _anthropic({"type": "document", "source": {"type": "text", "data": text}}),
        ),
        (
            "anthropic",
            "search_result",
            _anthropic(
                {
                    "type": "search_result",
                    "source": "https://example.com",
                    "title": "Notes",
                    "content": [{"type": "text", "text": text}],
                }
            ),
        ),
        (
            "chat",
            "unknown part type",
            {
                "model": "m",
                "messages": [
                    {"role": "user", "content": [{"type": "future_part", "data": {"text": text}}]}
                ],
            },
        ),
        (
            "responses",
            "unknown part type",
            {
                "model": "m",
                "input": [{"role": "user", "content": [{"type": "future_part", "body": text}]}],
            },
        ),
        (
            "responses",
            "unknown item type",
            {"model": "m", "input": [{"type": "future_item", "content": {"note": text}}]},
        ),
    ]


@pytest.mark.parametrize(
    ("api", "body"),
    [(api, body) for api, _, body in _hidden(CRISIS)],
    ids=[f"{api}:{name}" for api, name, _ in _hidden(CRISIS)],
)
async def test_a_crisis_hidden_in_content_of_an_unknown_type_is_detected(
    api: str, body: dict[str, Any], recorded_gateway: TestServer, recorder: Recorder
) -> None:
    """Every string inside content the parser does not know is inspected: helplines follow."""
    status, answer, _ = await post(recorded_gateway, PATHS[api], body)
    assert status == 200
    assert "crisis_resources" in answer
    # Care guidance rode upstream too: the request was read, not just passed along.
    assert len(recorder.calls) == 1
    assert orjson.loads(recorder.calls[0].body) != body


@pytest.mark.parametrize(
    ("api", "body"),
    [(api, body) for api, _, body in _hidden(BENIGN)],
    ids=[f"{api}:{name}" for api, name, _ in _hidden(BENIGN)],
)
async def test_benign_text_in_the_same_places_raises_nothing(
    api: str, body: dict[str, Any], make_recorded_gateway: GatewayMaker, recorder: Recorder
) -> None:
    """The same shapes with benign text: no helplines, the body forwarded unchanged."""
    gateway = await make_recorded_gateway(policy={"model_can_end": False})
    status, answer, _ = await post(gateway, PATHS[api], body)
    assert status == 200
    assert "crisis_resources" not in answer
    assert orjson.loads(recorder.calls[0].body) == body
