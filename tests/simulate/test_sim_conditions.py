"""Per-request x-sim-* conditions, error formats, faults and the request log."""

from __future__ import annotations

import json
import time
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
import anthropic
import httpx2
import openai
import pytest
from aiohttp.test_utils import TestServer

from gateway.simulate import LAST_REQUEST

AnthropicFor = Callable[..., anthropic.AsyncAnthropic]
OpenAIFor = Callable[..., openai.AsyncOpenAI]
StartSimulator = Callable[..., Awaitable[TestServer]]

CLAUDE = "claude-sonnet-5"
GPT = "gpt-4o"
HELLO = "Hello, how are you today?"


@pytest.mark.parametrize(
    ("status", "error", "kind"),
    [
        (429, anthropic.RateLimitError, "rate_limit_error"),
        (500, anthropic.InternalServerError, "api_error"),
        (529, anthropic.OverloadedError, "overloaded_error"),
        (400, anthropic.BadRequestError, "invalid_request_error"),
    ],
)
async def test_anthropic_status(
    anthropic_client: anthropic.AsyncAnthropic,
    status: int,
    error: type[anthropic.APIStatusError],
    kind: str,
) -> None:
    """x-sim-status answers with that status and an Anthropic error body; the SDK types it."""
    with pytest.raises(error) as raised:
        await anthropic_client.messages.create(
            model=CLAUDE,
            max_tokens=16,
            messages=[{"role": "user", "content": HELLO}],
            extra_headers={"x-sim-status": str(status)},
        )
    assert raised.value.status_code == status
    body = raised.value.body
    assert isinstance(body, dict)
    assert body["type"] == "error"
    assert body["error"]["type"] == kind
    assert body["request_id"].startswith("req_")


@pytest.mark.parametrize(
    ("status", "error", "kind"),
    [
        (429, openai.RateLimitError, "requests"),
        (500, openai.InternalServerError, "server_error"),
        (401, openai.AuthenticationError, "invalid_request_error"),
    ],
)
async def test_openai_status(
    openai_client: openai.AsyncOpenAI,
    status: int,
    error: type[openai.APIStatusError],
    kind: str,
) -> None:
    """x-sim-status answers with that status and an OpenAI error body, on both endpoints."""
    with pytest.raises(error) as raised:
        await openai_client.chat.completions.create(
            model=GPT,
            messages=[{"role": "user", "content": HELLO}],
            extra_headers={"x-sim-status": str(status)},
        )
    assert raised.value.status_code == status
    assert isinstance(raised.value.body, dict)
    assert set(raised.value.body) == {"message", "type", "param", "code"}
    assert raised.value.body["type"] == kind
    with pytest.raises(error):
        await openai_client.responses.create(
            model=GPT, input=HELLO, extra_headers={"x-sim-status": str(status)}
        )


async def test_anthropic_fault_mid_stream(anthropic_client: anthropic.AsyncAnthropic) -> None:
    """x-sim-fault-after cuts the stream after N events; the SDK raises mid-iteration."""
    stream = await anthropic_client.messages.create(
        model=CLAUDE,
        max_tokens=16,
        messages=[{"role": "user", "content": HELLO}],
        stream=True,
        extra_headers={"x-sim-fault-after": "5"},
    )
    seen: list[str] = []
    # The Anthropic SDK lets the transport error through unwrapped.
    with pytest.raises(httpx2.RemoteProtocolError):
        async for event in stream:
            seen.append(event.type)
    # Five events on the wire: the ping among them is not yielded by the SDK.
    assert seen == [
        "message_start",
        "content_block_start",
        "content_block_delta",
        "content_block_delta",
    ]


async def test_openai_fault_mid_stream(openai_client: openai.AsyncOpenAI) -> None:
    """A cut chat stream makes the OpenAI SDK raise APIConnectionError after N chunks."""
    stream = await openai_client.chat.completions.create(
        model=GPT,
        messages=[{"role": "user", "content": HELLO}],
        stream=True,
        extra_headers={"x-sim-fault-after": "3"},
    )
    chunks = 0
    with pytest.raises(openai.APIConnectionError):
        async for _ in stream:
            chunks += 1
    assert chunks == 3


async def test_fault_in_non_streamed_body(
    anthropic_client: anthropic.AsyncAnthropic, openai_client: openai.AsyncOpenAI
) -> None:
    """Without streaming, the body is cut in half and the SDKs report a connection error."""
    with pytest.raises(anthropic.APIConnectionError):
        await anthropic_client.messages.create(
            model=CLAUDE,
            max_tokens=16,
            messages=[{"role": "user", "content": HELLO}],
            extra_headers={"x-sim-fault-after": "0"},
        )
    with pytest.raises(openai.APIConnectionError):
        await openai_client.responses.create(
            model=GPT, input=HELLO, extra_headers={"x-sim-fault-after": "0"}
        )


async def test_fault_after_from_settings(
    start_simulator: StartSimulator, openai_for: OpenAIFor
) -> None:
    """The fault_after setting applies to every stream of that simulator."""
    client = openai_for(await start_simulator(fault_after=2))
    stream = await client.responses.create(model=GPT, input=HELLO, stream=True)
    seen: list[str] = []
    with pytest.raises(openai.APIConnectionError):
        async for event in stream:
            seen.append(event.type)
    assert seen == ["response.created", "response.in_progress"]


async def test_ten_thousand_deltas(anthropic_client: anthropic.AsyncAnthropic) -> None:
    """x-sim-events=10000 streams exactly 10,000 text deltas."""
    stream = await anthropic_client.messages.create(
        model=CLAUDE,
        max_tokens=16,
        messages=[{"role": "user", "content": HELLO}],
        stream=True,
        extra_headers={"x-sim-events": "10000"},
    )
    deltas = 0
    output_tokens = 0
    async for event in stream:
        if event.type == "content_block_delta":
            deltas += 1
        elif event.type == "message_delta":
            output_tokens = event.usage.output_tokens
    assert deltas == output_tokens == 10_000


async def test_events_sets_non_streamed_words(openai_client: openai.AsyncOpenAI) -> None:
    """For a non-streamed answer, x-sim-events is the number of words."""
    completion = await openai_client.chat.completions.create(
        model=GPT,
        messages=[{"role": "user", "content": HELLO}],
        extra_headers={"x-sim-events": "300"},
    )
    content = completion.choices[0].message.content
    assert content is not None
    assert len(content.split()) == 300


async def test_hang_trips_client_timeout(
    simulator: TestServer, anthropic_for: AnthropicFor
) -> None:
    """x-sim-hang-ms holds the response headers back long enough for a client timeout."""
    client = anthropic_for(simulator, timeout=0.1)
    started = time.perf_counter()
    with pytest.raises(anthropic.APITimeoutError):
        await client.messages.create(
            model=CLAUDE,
            max_tokens=16,
            messages=[{"role": "user", "content": HELLO}],
            extra_headers={"x-sim-hang-ms": "400"},
        )
    assert time.perf_counter() - started < 0.4


async def test_token_delay(openai_client: openai.AsyncOpenAI) -> None:
    """x-sim-token-delay-ms spaces the streamed deltas."""
    started = time.perf_counter()
    stream = await openai_client.chat.completions.create(
        model=GPT,
        messages=[{"role": "user", "content": HELLO}],
        stream=True,
        extra_headers={"x-sim-token-delay-ms": "20", "x-sim-events": "5"},
    )
    chunks = [chunk async for chunk in stream]
    assert len(chunks) == 7
    assert time.perf_counter() - started >= 0.1


async def test_echo_headers(anthropic_client: anthropic.AsyncAnthropic) -> None:
    """x-sim-echo-headers answers with the request headers it received, as JSON text."""
    message = await anthropic_client.messages.create(
        model=CLAUDE,
        max_tokens=16,
        messages=[{"role": "user", "content": HELLO}],
        extra_headers={"x-sim-echo-headers": "1", "X-Trace": "abc"},
    )
    assert message.content[0].type == "text"
    headers = json.loads(message.content[0].text)
    assert headers["x-trace"] == "abc"
    assert "anthropic-version" in headers


async def test_last_request_is_recorded(
    simulator: TestServer, openai_client: openai.AsyncOpenAI
) -> None:
    """The last request's path, headers and body are kept for gateway tests to inspect."""
    log = simulator.app[LAST_REQUEST]
    assert log.last is None
    await openai_client.chat.completions.create(
        model=GPT,
        messages=[{"role": "user", "content": HELLO}],
        extra_headers={"X-Probe": "yes"},
    )
    last = log.last
    assert last is not None
    assert (last.method, last.path) == ("POST", "/v1/chat/completions")
    assert last.headers["x-probe"] == "yes"
    assert last.json()["messages"] == [{"role": "user", "content": HELLO}]
    assert len(log.requests) == 1


@pytest.mark.parametrize(
    ("path", "headers", "body", "status", "family"),
    [
        ("/v1/nothing", {"anthropic-version": "2023-06-01"}, {}, 404, "anthropic"),
        ("/v1/nothing", {}, {}, 404, "openai"),
        ("/v1/messages", {}, b"{not json", 400, "anthropic"),
        ("/v1/messages", {}, {"model": CLAUDE, "messages": []}, 400, "anthropic"),
        ("/v1/messages", {}, {"model": CLAUDE, "messages": [{"role": "user"}]}, 400, "anthropic"),
        ("/v1/messages", {}, [1, 2], 400, "anthropic"),
        (
            "/v1/messages",
            {},
            {"model": CLAUDE, "max_tokens": 5, "messages": [{"role": [1]}]},
            400,
            "anthropic",
        ),
        (
            "/v1/messages",
            {},
            {
                "model": CLAUDE,
                "max_tokens": 5,
                "messages": [{"role": "user", "content": [{"type": "text"}]}],
            },
            400,
            "anthropic",
        ),
        ("/v1/chat/completions", {}, {"model": GPT}, 400, "openai"),
        ("/v1/chat/completions", {}, {"model": GPT, "messages": [{"role": "x"}]}, 400, "openai"),
        ("/v1/chat/completions", {}, {"model": GPT, "messages": [{"role": []}]}, 400, "openai"),
        (
            "/v1/chat/completions",
            {},
            {"model": GPT, "messages": [{"role": "user"}], "tools": [{"type": []}]},
            400,
            "openai",
        ),
        ("/v1/responses", {}, {"model": GPT, "input": 42}, 400, "openai"),
        ("/v1/responses", {}, {"model": GPT, "input": [{"role": {}}]}, 400, "openai"),
        ("/v1/responses", {"x-sim-status": "200"}, {"model": GPT, "input": "hi"}, 400, "openai"),
        ("/v1/messages/count_tokens", {}, {"messages": []}, 400, "anthropic"),
    ],
)
async def test_errors_in_api_format(
    simulator: TestServer,
    path: str,
    headers: dict[str, str],
    body: Any,
    status: int,
    family: str,
) -> None:
    """Unknown paths, malformed bodies and bad overrides get 4xx in the API's error format."""
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    async with (
        aiohttp.ClientSession() as session,
        session.post(
            f"http://127.0.0.1:{simulator.port}{path}", data=data, headers=headers
        ) as response,
    ):
        assert response.status == status
        payload = await response.json()
    if family == "anthropic":
        assert payload["type"] == "error"
        assert set(payload["error"]) == {"type", "message"}
    else:
        assert set(payload) == {"error"}
        assert set(payload["error"]) == {"message", "type", "param", "code"}
