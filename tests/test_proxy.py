"""Every error path answers in the caller's own format; headers are forwarded as a proxy must."""

from __future__ import annotations

import asyncio
import gzip
from typing import Any

import aiohttp
import anthropic
import openai
import orjson
import pytest
from aiohttp.test_utils import TestServer

from gateway.detect.batching import BATCHES
from gateway.dialects import OFF_LOOP_BODY_BYTES
from gateway.inspection import Inspection
from gateway.simulate import LAST_REQUEST
from tests.conftest import GatewayFactory, base_url
from tests.e2e.sdk_calls import KEY

# Any values: the bodies go both to raw HTTP and, unpacked, to the SDKs' typed parameters.
ANTHROPIC_BODY: dict[str, Any] = {
    "model": "m",
    "max_tokens": 50,
    "messages": [{"role": "user", "content": "hi"}],
}
CHAT_BODY: dict[str, Any] = {"model": "m", "messages": [{"role": "user", "content": "hi"}]}
RESPONSES_BODY: dict[str, Any] = {"model": "m", "input": "hi"}
ROUTES: dict[str, tuple[str, dict[str, Any]]] = {
    "anthropic": ("/v1/messages", ANTHROPIC_BODY),
    "chat": ("/v1/chat/completions", CHAT_BODY),
    "responses": ("/v1/responses", RESPONSES_BODY),
}
HEADERS = {"x-api-key": KEY, "anthropic-version": "2023-06-01"}


def assert_error_shape(api: str, body: dict[str, Any], error_type: str | None = None) -> None:
    """The body is an error in the API's own format."""
    if api == "anthropic":
        assert body["type"] == "error"
        assert set(body["error"]) == {"type", "message"}
        if error_type:
            assert body["error"]["type"] == error_type
    else:
        assert set(body["error"]) == {"message", "type", "param", "code"}
        if error_type:
            assert error_type in (body["error"]["type"], body["error"]["code"])
    assert "Traceback" not in orjson.dumps(body).decode()


async def post(server: TestServer, path: str, body: Any, **headers: str) -> tuple[int, Any, Any]:
    """POST raw bytes or JSON; return status, decoded body and headers."""
    data = body if isinstance(body, bytes) else orjson.dumps(body)
    async with aiohttp.ClientSession() as session:
        url = base_url(server) + path
        async with session.post(url, data=data, headers={**HEADERS, **headers}) as resp:
            raw = await resp.read()
            try:
                decoded = orjson.loads(raw)
            except orjson.JSONDecodeError:
                decoded = raw
            return resp.status, decoded, resp.headers


BAD_BODIES = {
    "not json": b"{not json",
    "json array": b"[1, 2]",
    "no model": {"messages": []},
}


@pytest.mark.parametrize("api", ROUTES)
@pytest.mark.parametrize("bad", BAD_BODIES.values(), ids=BAD_BODIES)
async def test_malformed_requests_get_a_400_in_the_callers_format(
    api: str, bad: Any, gateway: TestServer, simulator: TestServer
) -> None:
    """Malformed JSON or shape: 400, the dialect's error body, nothing sent upstream."""
    status, body, headers = await post(gateway, ROUTES[api][0], bad)
    assert status == 400
    assert headers["Content-Type"].startswith("application/json")
    assert_error_shape(api, body, "invalid_request_error")
    assert simulator.app[LAST_REQUEST].last is None


SHAPE_ERRORS = {
    "anthropic": [
        {"model": "m", "messages": []},
        {"model": "m", "max_tokens": 5, "messages": [{"role": "system", "content": "x"}]},
        {"model": "m", "max_tokens": 5, "messages": [{"role": "user", "content": 5}]},
        {"model": "m", "max_tokens": 5, "messages": "hi"},
        {"model": "m", "max_tokens": 5, "messages": [], "stream": "yes"},
    ],
    "chat": [
        {"model": "m", "messages": []},
        {"model": "m", "messages": [{"role": "wizard", "content": "x"}]},
        {"model": "m", "messages": [{"role": "user", "content": {"a": 1}}]},
    ],
    "responses": [{"model": "m", "input": 5}, {"model": "m", "input": [1]}],
}


@pytest.mark.parametrize(
    ("api", "bad"), [(api, body) for api, bodies in SHAPE_ERRORS.items() for body in bodies]
)
async def test_wrong_shapes_are_named_in_the_400(api: str, bad: Any, gateway: TestServer) -> None:
    """A body of the wrong shape gets a 400 whose message says what is wrong."""
    status, body, _ = await post(gateway, ROUTES[api][0], bad)
    assert status == 400
    assert_error_shape(api, body, "invalid_request_error")
    assert body["error"]["message"]


def padded(body: dict[str, Any], size: int) -> dict[str, Any]:
    """`body` grown past `size` bytes by an unknown top-level field (forwarded as is)."""
    return {**body, "metadata_padding": "x" * size}


@pytest.mark.parametrize(
    ("api", "bad"), [(api, body) for api, bodies in SHAPE_ERRORS.items() for body in bodies[:2]]
)
async def test_a_large_body_of_the_wrong_shape_gets_the_same_400(
    api: str, bad: Any, gateway: TestServer
) -> None:
    """A body past OFF_LOOP_BODY_BYTES is parsed in another process: its 400 is the one a
    small body of the same shape gets, message and parameter included."""
    _, small, _ = await post(gateway, ROUTES[api][0], bad)
    status, large, _ = await post(gateway, ROUTES[api][0], padded(bad, OFF_LOOP_BODY_BYTES))
    assert status == 400
    assert large == small


@pytest.mark.parametrize("api", ROUTES)
async def test_a_large_body_is_identified_as_a_small_one(
    api: str, gateway: TestServer, simulator: TestServer
) -> None:
    """Parsed in another process or on the loop, one history is one conversation, and it is
    forwarded whole."""
    path, body = ROUTES[api]
    _, _, small = await post(gateway, path, body)
    status, _, large = await post(gateway, path, padded(body, OFF_LOOP_BODY_BYTES))
    assert status == 200
    assert large["X-Conversation-Id"] == small["X-Conversation-Id"]
    forwarded = simulator.app[LAST_REQUEST].last
    assert forwarded is not None
    assert len(forwarded.json()["metadata_padding"]) == OFF_LOOP_BODY_BYTES


@pytest.mark.parametrize("api", ROUTES)
async def test_a_body_over_the_limit_gets_a_413(api: str, make_gateway: GatewayFactory) -> None:
    """A body over max_body_bytes: 413 in the caller's format."""
    gateway = await make_gateway(max_body_bytes=4096)
    path, body = ROUTES[api]
    big = {**body, "metadata": {"pad": "x" * 10_000}}
    status, answer, _ = await post(gateway, path, big)
    assert status == 413
    assert_error_shape(api, answer)


@pytest.mark.parametrize("api", ROUTES)
@pytest.mark.parametrize("stream", [False, True])
async def test_an_unreachable_upstream_gets_a_502(
    api: str, stream: bool, make_gateway: GatewayFactory, refusing_port: int
) -> None:
    """Nothing listens upstream: 502 in the caller's format, streaming or not."""
    dead = f"http://127.0.0.1:{refusing_port}"
    gateway = await make_gateway(anthropic_upstream=dead, openai_upstream=dead)
    path, body = ROUTES[api]
    status, answer, _ = await post(gateway, path, {**body, "stream": stream})
    assert status == 502
    assert_error_shape(api, answer)


@pytest.mark.parametrize("api", ROUTES)
async def test_a_slow_upstream_gets_a_504(api: str, make_gateway: GatewayFactory) -> None:
    """The upstream does not answer within upstream_timeout: 504 in the caller's format."""
    gateway = await make_gateway(upstream_timeout=0.3)
    path, body = ROUTES[api]
    status, answer, _ = await post(gateway, path, body, **{"x-sim-hang-ms": "3000"})
    assert status == 504
    assert_error_shape(api, answer)


@pytest.mark.parametrize("api", ROUTES)
@pytest.mark.parametrize("status", [429, 500, 529])
async def test_upstream_errors_pass_through_as_sent(
    api: str, status: int, gateway: TestServer, simulator: TestServer
) -> None:
    """An upstream error reaches the client with the upstream's own status and body."""
    path, body = ROUTES[api]
    direct = await post(simulator, path, body, **{"x-sim-status": str(status)})
    through = await post(gateway, path, body, **{"x-sim-status": str(status)})
    assert through[0] == direct[0] == status
    # Request ids are random per response; everything else is the upstream's.
    through[1].pop("request_id", None)
    direct[1].pop("request_id", None)
    assert through[1] == direct[1]
    assert_error_shape(api, through[1])


async def test_anthropic_sdk_raises_midstream_faults(gateway: TestServer) -> None:
    """A fault in mid-stream becomes an `error` event, which the Anthropic SDK raises."""
    client = anthropic.AsyncAnthropic(
        base_url=base_url(gateway),
        api_key=KEY,
        max_retries=0,
        default_headers={"x-sim-fault-after": "4"},
    )
    async with client:
        with pytest.raises(anthropic.APIStatusError):
            async with client.messages.stream(**ANTHROPIC_BODY) as stream:
                async for _ in stream:
                    pass


@pytest.mark.parametrize("api", ["chat", "responses"])
async def test_openai_sdk_raises_midstream_faults(api: str, gateway: TestServer) -> None:
    """A fault in mid-stream becomes an error chunk, which the OpenAI SDK raises."""
    client = openai.AsyncOpenAI(
        base_url=base_url(gateway) + "/v1",
        api_key=KEY,
        max_retries=0,
        default_headers={"x-sim-fault-after": "3"},
    )
    async with client:
        with pytest.raises(openai.APIError):
            if api == "chat":
                stream: Any = await client.chat.completions.create(**CHAT_BODY, stream=True)
            else:
                stream = await client.responses.create(**RESPONSES_BODY, stream=True)
            async for _ in stream:
                pass


@pytest.mark.parametrize("api", ROUTES)
async def test_midstream_fault_ends_with_one_well_formed_error_event(
    api: str, gateway: TestServer
) -> None:
    """The raw stream: the events before the fault, then one parseable error event."""
    path, body = ROUTES[api]
    _, raw, headers = await post(
        gateway, path, {**body, "stream": True}, **{"x-sim-fault-after": "3"}
    )
    assert headers["Content-Type"].startswith("text/event-stream")
    events = [e for e in raw.split(b"\n\n") if e.strip()]
    assert len(events) == 4
    last = events[-1].split(b"data: ", 1)[1]
    assert_error_shape(api, {k: v for k, v in orjson.loads(last).items() if k in ("type", "error")})


async def test_headers_are_forwarded_as_a_proxy_must(
    gateway: TestServer, simulator: TestServer
) -> None:
    """Credentials and API headers go upstream; hop-by-hop ones do not; XFF is added."""
    status, _, headers = await post(
        gateway,
        "/v1/messages",
        ANTHROPIC_BODY,
        **{"Connection": "keep-alive, x-private", "x-private": "hop", "x-custom": "kept"},
    )
    assert status == 200
    last = simulator.app[LAST_REQUEST].last
    assert last is not None
    seen = {k.lower(): v for k, v in last.headers.items()}
    assert seen["x-api-key"] == KEY
    assert seen["anthropic-version"] == "2023-06-01"
    assert seen["x-custom"] == "kept"
    assert "x-private" not in seen
    assert seen["x-forwarded-for"] == "127.0.0.1"
    assert "lastword" in seen["via"]
    assert "Transfer-Encoding" not in headers or headers["Transfer-Encoding"] == "chunked"
    assert headers["X-Lastword-Request-Id"]


@pytest.mark.parametrize("path", ["/v1/messages", "/v1/messages/count_tokens"])
async def test_the_user_agent_is_the_clients_or_none(
    gateway: TestServer, simulator: TestServer, path: str
) -> None:
    """A client's User-Agent goes upstream as sent; without one, the gateway adds none."""
    url = base_url(gateway) + path
    for agent in ("Anthropic/Python 0.40.0", None):
        sent = {**HEADERS, **({"User-Agent": agent} if agent else {})}
        async with (
            aiohttp.ClientSession(skip_auto_headers=("User-Agent",)) as session,
            session.post(url, data=orjson.dumps(ANTHROPIC_BODY), headers=sent) as resp,
        ):
            assert resp.status == 200
        last = simulator.app[LAST_REQUEST].last
        assert last is not None
        assert last.headers.get("User-Agent") == agent


async def test_other_paths_pass_through_untouched(
    gateway: TestServer, simulator: TestServer
) -> None:
    """/v1/models and /v1/messages/count_tokens reach the upstream of their family."""
    async with aiohttp.ClientSession() as session:
        for family_headers in (HEADERS, {"authorization": f"Bearer {KEY}"}):
            responses = []
            for server in (gateway, simulator):
                url = base_url(server) + "/v1/models"
                async with session.get(url, headers=family_headers) as resp:
                    responses.append((resp.status, await resp.json()))
            assert responses[0] == responses[1]
            assert responses[0][0] == 200
    status, body, _ = await post(gateway, "/v1/messages/count_tokens", ANTHROPIC_BODY)
    assert status == 200
    assert body["input_tokens"] > 0


async def test_health_and_readiness(gateway: TestServer) -> None:
    """/healthz and /readyz answer 200 on a started gateway."""
    async with aiohttp.ClientSession() as session:
        for path in ("/healthz", "/readyz"):
            async with session.get(base_url(gateway) + path) as resp:
                assert resp.status == 200


async def test_a_gateway_fault_in_mid_stream_ends_the_stream_well_formed(
    gateway: TestServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A failure inside the gateway once a stream began: an error event, a clean end.

    (An event the watcher cannot read is no such failure: see tests/test_editor.py.)
    """

    async def broken(self: Inspection, *args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("injected fault")

    monkeypatch.setattr(Inspection, "record", broken)
    status, raw, _ = await post(gateway, "/v1/messages", {**ANTHROPIC_BODY, "stream": True})
    assert status == 200
    events = [e for e in raw.split(b"\n\n") if e.strip()]
    assert events[-1].startswith(b"event: error")
    assert b"Traceback" not in raw and b"injected" not in raw


async def test_a_compressed_request_body_is_forwarded_decoded(
    gateway: TestServer, simulator: TestServer
) -> None:
    """gzip request bodies are read, and forwarded without the stale Content-Encoding."""
    data = gzip.compress(orjson.dumps(ANTHROPIC_BODY))
    status, _, _ = await post(gateway, "/v1/messages", data, **{"Content-Encoding": "gzip"})
    assert status == 200
    last = simulator.app[LAST_REQUEST].last
    assert last is not None
    assert "content-encoding" not in {k.lower() for k in last.headers}


async def test_concurrent_requests_are_judged_together_and_answered_alike(
    gateway: TestServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Requests under way together have their turns scored in shared batches
    (`detect.batching`); each is answered as it is alone: helplines for the crisis turns
    only."""
    judged: list[str] = []
    real_judge = BATCHES.judge

    async def judge_and_note(rules: Any, text: str, earlier: Any = ()) -> Any:
        judged.append(text)
        return await real_judge(rules, text, earlier)

    # Observing which turns were batched, not changing how they are judged.
    monkeypatch.setattr(BATCHES, "judge", judge_and_note)
    turns = ["i dont wanna be alive anymore", "what's a good name for a cat?"] * 6
    bodies = [{**ANTHROPIC_BODY, "messages": [{"role": "user", "content": turn}]} for turn in turns]
    answers = await asyncio.gather(*(post(gateway, "/v1/messages", body) for body in bodies))
    assert [status for status, _, _ in answers] == [200] * len(turns)
    assert judged, "no turn waited for a batch"
    for turn, (_, body, _) in zip(turns, answers, strict=True):
        assert ("crisis_resources" in body) is turn.startswith("i dont")
    status, body, _ = await post(gateway, "/v1/messages", bodies[0])
    assert status == 200
    assert "crisis_resources" in body
