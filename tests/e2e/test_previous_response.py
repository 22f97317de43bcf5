"""Responses clients that continue by `previous_response_id` stay on one path."""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from aiohttp.test_utils import TestServer

from tests.conftest import GatewayFactory
from tests.e2e.conversation_play import AFTER, GREETING, HARMFUL, send


async def _say(
    gateway: TestServer, text: str, previous: str | None, stream: bool = False
) -> tuple[int, Any, Any]:
    body: dict[str, Any] = {"model": "m", "input": text, "stream": stream}
    if previous is not None:
        body["previous_response_id"] = previous
    return await send(gateway, "responses", body)


def _response_id(body: Any) -> str:
    if isinstance(body, bytes):  # a stream: the id is on response.created
        for line in body.split(b"\n"):
            if line.startswith(b"data:") and b'"response.created"' in line:
                return str(orjson.loads(line[5:])["response"]["id"])
        raise AssertionError("no response.created event")
    return str(body["id"])


@pytest.mark.parametrize("stream", [False, True])
async def test_a_chain_of_response_ids_ends_and_stays_ended(
    stream: bool, make_gateway: GatewayFactory
) -> None:
    """Three refused harmful turns chained by id end it; continuing any id of it is refused."""
    gateway = await make_gateway(policy={"model_can_end": False})
    status, body, headers = await _say(gateway, GREETING, None, stream)
    assert status == 200
    conversation = headers["X-Conversation-Id"]
    ids = [_response_id(body)]
    for text in HARMFUL:
        status, body, headers = await _say(gateway, text, ids[-1], stream)
        assert status == 200
        assert headers["X-Conversation-Id"] == conversation
        ids.append(_response_id(body))
    assert b"ended" in (body if isinstance(body, bytes) else str(body).encode())
    status, body, headers = await _say(gateway, AFTER, ids[-1], stream)
    assert (status, headers["X-Conversation-Status"]) == (410, "ended")
    assert body["conversation_ended"]["id"] == conversation


async def test_an_edit_by_continuing_an_earlier_response_is_a_branch(
    make_gateway: GatewayFactory,
) -> None:
    """Continuing from a response before the strikes is a branch that goes on."""
    gateway = await make_gateway(policy={"model_can_end": False})
    _, body, _ = await _say(gateway, GREETING, None)
    first = _response_id(body)
    previous = first
    for text in HARMFUL:
        _, body, headers = await _say(gateway, text, previous)
        previous = _response_id(body)
    assert headers["X-Conversation-Status"] == "ended"
    status, _, headers = await _say(gateway, "Which herbs grow in shade?", first)
    assert (status, headers["X-Conversation-Status"]) == (200, "active")


async def test_responses_not_stored_upstream_are_not_linked(
    make_gateway: GatewayFactory,
) -> None:
    """`store: false` answers cannot be continued by id, so nothing is remembered for them."""
    gateway = await make_gateway()
    status, body, headers = await send(
        gateway, "responses", {"model": "m", "input": GREETING, "store": False}
    )
    assert status == 200
    status, _, other = await _say(gateway, "And then?", _response_id(body))
    assert status == 200
    assert other["X-Conversation-Id"] != headers["X-Conversation-Id"]


async def test_an_openai_side_conversation_is_followed(make_gateway: GatewayFactory) -> None:
    """Requests naming one OpenAI `conversation` (only new input each) share one path."""
    gateway = await make_gateway(policy={"model_can_end": False})
    ids = set()
    for text in [GREETING, *HARMFUL]:
        body = {"model": "m", "input": text, "conversation": {"id": "conv_openai_123"}}
        status, _, headers = await send(gateway, "responses", body)
        assert status == 200
        ids.add(headers["X-Conversation-Id"])
    assert len(ids) == 1
    assert headers["X-Conversation-Status"] == "ended"
    status, _, headers = await send(
        gateway, "responses", {"model": "m", "input": AFTER, "conversation": "conv_openai_123"}
    )
    assert (status, headers["X-Conversation-Status"]) == (410, "ended")
