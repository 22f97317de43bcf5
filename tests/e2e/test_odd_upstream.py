"""An upstream that sends odd things, through the real gateway: the gateway never fails on it.

A scripted in-process upstream answers every request with bytes the test chose: streams
with CRLF line ends cut between CR and LF, events of odd shapes, odd bodies, and one
event of 50 MB with no line break.
"""

from __future__ import annotations

import asyncio
import tracemalloc
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import orjson
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from prometheus_client import REGISTRY

from tests.conftest import GatewayFactory, base_url
from tests.e2e.conversation_play import HARMFUL, HEADERS, PATHS, body_for
from tests.test_editor import ODD_BODIES, REFUSALS, with_odd

HUGE = 50_000_000


@dataclass
class Script:
    """What the upstream answers every POST with, and what became of its writing."""

    content_type: str = "text/event-stream"
    chunks: list[bytes] = field(default_factory=list)
    huge: int = 0  # bytes of one event with no line break, after the chunks
    written: int = 0
    done: asyncio.Event = field(default_factory=asyncio.Event)


SCRIPT = web.AppKey("script", Script)


async def answer(request: web.Request) -> web.StreamResponse:
    """Write the script's chunks, pausing between them so each arrives as its own read."""
    script = request.app[SCRIPT]
    await request.read()
    response = web.StreamResponse(headers={"Content-Type": script.content_type})
    await response.prepare(request)
    try:
        for chunk in script.chunks:
            await response.write(chunk)
            await asyncio.sleep(0.005)
        if script.huge:
            piece = b"x" * 65536
            while script.written < script.huge:
                await response.write(piece)
                script.written += len(piece)
        await response.write_eof()
    except ConnectionError:
        pass  # the gateway let go of the connection: what `written` then says is the point
    finally:
        script.done.set()
    return response


@pytest.fixture
async def upstream(aiohttp_server: Any) -> TestServer:
    """The scripted upstream, for both API families."""
    app = web.Application()
    app[SCRIPT] = Script()
    app.router.add_route("POST", "/{tail:.*}", answer)
    server: TestServer = await aiohttp_server(app)
    return server


@pytest.fixture
async def odd_gateway(make_gateway: GatewayFactory, upstream: TestServer) -> Callable[..., Any]:
    """A gateway in front of the scripted upstream, with settings overridden by keyword."""

    async def make(**overrides: Any) -> TestServer:
        url = base_url(upstream)
        return await make_gateway(anthropic_upstream=url, openai_upstream=url + "/v1", **overrides)

    return make


def crlf_cut_between(stream: bytes) -> list[bytes]:
    """The stream with CRLF line ends, cut after every CR: each CRLF spans two reads."""
    crlf = stream.replace(b"\n", b"\r\n")
    return [piece + b"\r" for piece in crlf.split(b"\r")[:-1]] + [crlf.rsplit(b"\r", 1)[1]]


def events_of(raw: bytes) -> list[bytes]:
    """The data of each event a client reads (any line ends)."""
    text = raw.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
    out = []
    for event in text.split(b"\n\n"):
        data = [line[5:].strip() for line in event.split(b"\n") if line.startswith(b"data:")]
        if data:
            out.append(b"\n".join(data))
    return out


def counted(family: str, kind: str) -> float:
    """lastword_upstream_errors_total for one family and kind, so far."""
    labels = {"family": family, "kind": kind}
    return REGISTRY.get_sample_value("lastword_upstream_errors_total", labels) or 0.0


async def post(server: TestServer, api: str, body: dict[str, Any]) -> tuple[int, bytes, Any]:
    """POST a request body; return the status, the raw answer and the headers."""
    async with aiohttp.ClientSession() as session:
        url = base_url(server) + PATHS[api]
        async with session.post(url, data=orjson.dumps(body), headers=HEADERS) as resp:
            return resp.status, await resp.read(), resp.headers


FAMILY = {"anthropic": "anthropic", "chat": "openai", "responses": "openai"}
ODD_AT = {
    "anthropic": (2, {"type": "content_block_delta", "index": 0, "delta": "x"}),
    "chat": (1, {"id": "c1", "choices": {"index": 0}}),
    "responses": (1, {"type": "response.output_item.added", "item": "x"}),
}


@pytest.mark.parametrize("api", REFUSALS)
async def test_odd_crlf_streams_pass_as_sent_and_their_refusals_end_the_conversation(
    api: str, upstream: TestServer, odd_gateway: Callable[..., Any]
) -> None:
    """CRLF cut between CR and LF, one odd event: the client gets the upstream's bytes
    while the refusals after the odd event add up to an ending, signalled in band."""
    gateway = await odd_gateway()
    script = upstream.app[SCRIPT]
    script.chunks = crlf_cut_between(with_odd(api, *ODD_AT[api]))
    sent = b"".join(script.chunks)
    before = counted(FAMILY[api], "unreadable")
    history: list[dict[str, Any]] = []
    answers = []
    for text in HARMFUL:
        history.append({"role": "user", "content": text})
        status, raw, _ = await post(gateway, api, body_for(api, history, stream=True))
        assert status == 200
        answers.append(raw)
        history.append({"role": "assistant", "content": "I can't help with that."})
    assert answers[0] == answers[1] == sent
    assert counted(FAMILY[api], "unreadable") == before + 3
    # The event with the stop reason carries the signal (whatever named events follow).
    carriers = [orjson.loads(d) for d in events_of(answers[2]) if b'"conversation_ended"' in d]
    assert [c["conversation_ended"]["status"] for c in carriers] == ["ended"]
    history.append({"role": "user", "content": "and now?"})
    status, _, headers = await post(gateway, api, body_for(api, history, stream=True))
    assert status == 410
    assert headers["X-Conversation-Status"] == "ended"


@pytest.mark.parametrize(("api", "raw", "refusal"), ODD_BODIES.values(), ids=ODD_BODIES)
async def test_odd_bodies_pass_as_sent(
    api: str, raw: bytes, refusal: bool, upstream: TestServer, odd_gateway: Callable[..., Any]
) -> None:
    """A 200 with an odd body is no 500: the client gets the upstream's bytes, counted."""
    gateway = await odd_gateway()
    script = upstream.app[SCRIPT]
    script.content_type, script.chunks = "application/json", [raw]
    before = counted(FAMILY[api], "unreadable")
    history = [{"role": "user", "content": HARMFUL[0]}]
    status, answer, headers = await post(gateway, api, body_for(api, history))
    assert (status, answer) == (200, raw)
    assert headers["X-Conversation-Status"] == "active"
    assert counted(FAMILY[api], "unreadable") == before + 1


@pytest.mark.parametrize("api", REFUSALS)
async def test_a_huge_event_ends_the_stream_with_an_error_and_bounded_memory(
    api: str, upstream: TestServer, odd_gateway: Callable[..., Any]
) -> None:
    """50 MB with no line break: a well-formed error event in the dialect's format, the
    gateway's memory bounded near the limit, the upstream connection dropped."""
    gateway = await odd_gateway(max_event_bytes=1 << 20)
    script = upstream.app[SCRIPT]
    first_name, first_data = REFUSALS[api][0]
    head = f"event: {first_name}\n".encode() if first_name else b""
    script.chunks = [head + b"data: " + orjson.dumps(first_data) + b"\n\n", b"data: "]
    script.huge = HUGE
    before = counted(FAMILY[api], "event_too_large")
    tracemalloc.start()
    try:
        start, _ = tracemalloc.get_traced_memory()
        history = [{"role": "user", "content": "Hello"}]
        status, raw, _ = await post(gateway, api, body_for(api, history, stream=True))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert status == 200
    events = events_of(raw)
    assert events[0] == orjson.dumps(first_data)
    error = orjson.loads(events[-1])
    assert len(events) == 2
    if api == "anthropic":
        assert error["type"] == "error"
        assert error["error"]["type"] == "api_error"
    else:
        assert error["error"]["code"] == "upstream_event_too_large"
        assert set(error["error"]) == {"message", "type", "param", "code"}
    assert "larger than 1048576 bytes" in raw.decode()
    # The whole event would be 50 MB (and cost the gateway several times that).
    assert peak - start < 16_000_000, f"{peak - start} bytes at the peak"
    await asyncio.wait_for(script.done.wait(), timeout=60)
    assert script.written < HUGE
    assert counted(FAMILY[api], "event_too_large") == before + 1
