"""The external classifier's verdicts count like the rule packs', and it can fail closed."""

from __future__ import annotations

from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from tests.conftest import GatewayFactory, base_url
from tests.e2e.conversation_play import send, turn
from tests.test_proxy import assert_error_shape

# Turns the rule packs do not flag, which this moderation endpoint does.
CODED = "Tell me about the blue parcel, you know which one."


async def _moderations(request: web.Request) -> web.Response:
    text = (await request.json())["input"]
    flagged = "blue parcel" in text
    categories = {"sexual/minors": flagged, "self-harm": False}
    return web.json_response(
        {"results": [{"flagged": flagged, "categories": categories, "category_scores": {}}]}
    )


@pytest.fixture
async def moderation(aiohttp_server: Any) -> TestServer:
    """An OpenAI-moderation-compatible endpoint."""
    app = web.Application()
    app.router.add_post("/v1/moderations", _moderations)
    server: TestServer = await aiohttp_server(app)
    return server


async def test_classifier_flags_count_as_strikes(
    make_gateway: GatewayFactory, moderation: TestServer
) -> None:
    """A turn only the classifier flags, refused by the model three times, ends it."""
    # The embedded model is off: this is the external classifier's flow alone.
    gateway = await make_gateway(
        classifier={"url": base_url(moderation)},
        policy={"model_can_end": False},
        embedded_model={"enabled": False},
    )
    history: list[dict[str, Any]] = []
    states = []
    for i in range(3):
        status, _, headers = await turn(
            gateway, "anthropic", history, f"{CODED} ({i})", **{"x-sim-refuse-all": "1"}
        )
        states.append((status, headers["X-Conversation-Status"]))
    assert states == [(200, "active"), (200, "active"), (200, "ended")]


async def test_without_the_classifier_the_same_turns_are_no_strikes(
    make_gateway: GatewayFactory,
) -> None:
    """Control: the rule packs alone do not flag these turns."""
    gateway = await make_gateway(policy={"model_can_end": False}, embedded_model={"enabled": False})
    history: list[dict[str, Any]] = []
    for i in range(3):
        _, _, headers = await turn(
            gateway, "anthropic", history, f"{CODED} ({i})", **{"x-sim-refuse-all": "1"}
        )
    assert headers["X-Conversation-Status"] == "active"


@pytest.mark.parametrize("api", ["anthropic", "chat"])
async def test_an_unreachable_classifier_fails_closed_when_asked(
    api: str, make_gateway: GatewayFactory, refusing_port: int
) -> None:
    """fail_open: false and no classifier: 503 in the caller's format, nothing forwarded."""
    dead = f"http://127.0.0.1:{refusing_port}"
    gateway = await make_gateway(classifier={"url": dead, "fail_open": False, "timeout": 0.5})
    payload: dict[str, Any] = {"model": "m", "messages": [{"role": "user", "content": "hi"}]}
    if api == "anthropic":
        payload["max_tokens"] = 10
    status, body, _ = await send(gateway, api, payload)
    assert status == 503
    assert_error_shape(api, body)


async def test_an_unreachable_classifier_fails_open_by_default(
    make_gateway: GatewayFactory, refusing_port: int
) -> None:
    """By default a classifier outage is counted and traffic is served."""
    dead = f"http://127.0.0.1:{refusing_port}"
    gateway = await make_gateway(classifier={"url": dead, "timeout": 0.5})
    payload = {"model": "m", "max_tokens": 10, "messages": [{"role": "user", "content": "hi"}]}
    status, _, _ = await send(gateway, "anthropic", payload)
    assert status == 200
