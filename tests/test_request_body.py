"""Request bodies: decoded from any common coding, bounded in size and in time."""

from __future__ import annotations

import asyncio
import functools
import gzip
import io
import logging
import time
import zlib
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

import brotli
import orjson
import pytest
from aiohttp.test_utils import TestServer
from backports import zstd
from prometheus_client import REGISTRY

from gateway.cli import build_parser
from gateway.config import ConfigError, load_settings
from gateway.logs import configure_logging
from tests.dialects.malformed_corpus import PATHS, VALID
from tests.dialects.recorder import Recorder
from tests.test_proxy import HEADERS, assert_error_shape, post

GatewayMaker = Callable[..., Awaitable[TestServer]]
CODINGS: dict[str, Callable[[bytes], bytes]] = {
    "gzip": gzip.compress,
    "deflate": zlib.compress,
    "br": brotli.compress,
    "zstd": zstd.compress,
}
CRISIS = "I want to kill myself."


def _crisis_body(api: str) -> dict[str, Any]:
    body = dict(VALID[api])
    if api == "responses":
        body["input"] = CRISIS
    else:
        body["messages"] = [{"role": "user", "content": CRISIS}]
    return body


def failures(dialect: str, reason: str) -> float:
    """The current count of request bodies not read, for one dialect and reason."""
    labels = {"dialect": dialect, "reason": reason}
    return REGISTRY.get_sample_value("lastword_request_body_failures_total", labels) or 0.0


@pytest.mark.parametrize("api", PATHS)
@pytest.mark.parametrize("coding", CODINGS)
async def test_a_compressed_body_is_decoded_and_inspected(
    api: str, coding: str, recorded_gateway: TestServer, recorder: Recorder
) -> None:
    """gzip, deflate, br and zstd bodies are read: a crisis inside them gets the helplines,
    and the upstream gets the decoded JSON without the Content-Encoding."""
    data = CODINGS[coding](orjson.dumps(_crisis_body(api)))
    status, answer, _ = await post(
        recorded_gateway, PATHS[api], data, **{"Content-Encoding": coding}
    )
    assert status == 200
    assert "crisis_resources" in answer
    [call] = recorder.calls
    assert "content-encoding" not in call.headers
    assert orjson.loads(call.body)["model"] == "m"


async def test_raw_deflate_and_stacked_codings_are_decoded(
    recorded_gateway: TestServer, recorder: Recorder
) -> None:
    """Deflate without its zlib wrapper (some clients send it) and `gzip, br` both read."""
    raw = orjson.dumps(VALID["anthropic"])
    packer = zlib.compressobj(wbits=-zlib.MAX_WBITS)
    bare = packer.compress(raw) + packer.flush()
    for data, coding in ((bare, "deflate"), (brotli.compress(gzip.compress(raw)), "gzip, br")):
        status, _, _ = await post(
            recorded_gateway, "/v1/messages", data, **{"Content-Encoding": coding}
        )
        assert status == 200
    assert len(recorder.calls) == 2


@pytest.mark.parametrize("api", PATHS)
@pytest.mark.parametrize("coding", CODINGS)
async def test_garbage_labelled_as_compressed_gets_a_400(
    api: str, coding: str, recorded_gateway: TestServer, recorder: Recorder
) -> None:
    """A body that is not what its Content-Encoding says, or is cut short: 400, not forwarded."""
    whole = CODINGS[coding](orjson.dumps(VALID[api]) * 50)
    for data in (b"this is not compressed at all", whole[: len(whole) // 2]):
        before = failures(_dialect(api), "bad_encoding")
        status, answer, _ = await post(
            recorded_gateway, PATHS[api], data, **{"Content-Encoding": coding}
        )
        assert status == 400
        assert_error_shape(api, answer, "invalid_request_error")
        assert failures(_dialect(api), "bad_encoding") == before + 1
    assert recorder.calls == []


@pytest.mark.parametrize("api", PATHS)
@pytest.mark.parametrize("coding", ["compress", "x-custom", "gzip, gzip, gzip"])
async def test_an_unsupported_encoding_gets_a_415(
    api: str, coding: str, recorded_gateway: TestServer, recorder: Recorder
) -> None:
    """A coding the gateway cannot decode: 415 in the API's format, naming what it reads."""
    status, answer, _ = await post(
        recorded_gateway, PATHS[api], orjson.dumps(VALID[api]), **{"Content-Encoding": coding}
    )
    assert status == 415
    assert_error_shape(api, answer)
    assert "gzip" in answer["error"]["message"] or "stacked" in answer["error"]["message"]
    assert recorder.calls == []


@functools.cache
def _bomb(coding: str) -> bytes:
    """16 MB of spaces, compressed to a few KB."""
    if coding == "br":
        squeezed: bytes = brotli.compress(b" " * (16 * 1024 * 1024), quality=5)
        return squeezed
    return CODINGS[coding](b" " * (16 * 1024 * 1024))


@pytest.mark.parametrize("coding", CODINGS)
async def test_a_decompression_bomb_stops_at_the_body_limit(
    coding: str, make_recorded_gateway: GatewayMaker, recorder: Recorder
) -> None:
    """A few KB that inflate to 16 MB: 413 in the API's format once the limit is passed."""
    gateway = await make_recorded_gateway(max_body_bytes=64 * 1024)
    bomb = _bomb(coding)
    assert len(bomb) < 64 * 1024
    for api, path in PATHS.items():
        status, answer, _ = await post(gateway, path, bomb, **{"Content-Encoding": coding})
        assert status == 413
        assert_error_shape(api, answer)
    assert recorder.calls == []


async def test_passthrough_forwards_a_compressed_body_as_sent(
    recorded_gateway: TestServer, recorder: Recorder
) -> None:
    """A path that is not inspected gets the client's bytes and their Content-Encoding."""
    data = gzip.compress(orjson.dumps(VALID["anthropic"]))
    status, _, _ = await post(
        recorded_gateway, "/v1/messages/count_tokens", data, **{"Content-Encoding": "gzip"}
    )
    assert status == 200
    [call] = recorder.calls
    assert call.headers["content-encoding"] == "gzip"
    assert call.body == data


def _dialect(api: str) -> str:
    return {"anthropic": "anthropic", "chat": "openai_chat", "responses": "openai_responses"}[api]


async def _connect(server: TestServer) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    return await asyncio.open_connection("127.0.0.1", server.port)


def _head(path: str, length: int) -> bytes:
    lines = [f"POST {path} HTTP/1.1", "Host: 127.0.0.1", f"Content-Length: {length}"]
    lines += [f"{k}: {v}" for k, v in HEADERS.items()]
    lines += ["Content-Type: application/json", "", ""]
    return "\r\n".join(lines).encode()


async def _read_answer(reader: asyncio.StreamReader) -> tuple[int, dict[str, str], bytes]:
    """Read one HTTP answer, then what follows until the server closes (within 10 s)."""
    raw = await asyncio.wait_for(reader.read(), 10)
    head, _, body = raw.partition(b"\r\n\r\n")
    status_line, *header_lines = head.decode().split("\r\n")
    headers = {}
    for line in header_lines:
        key, _, value = line.partition(":")
        headers[key.strip().lower()] = value.strip()
    return int(status_line.split()[1]), headers, body


@pytest.mark.parametrize("api", PATHS)
async def test_a_body_that_never_comes_gets_a_408_and_the_connection_closed(
    api: str, make_recorded_gateway: GatewayMaker, recorder: Recorder
) -> None:
    """Headers, then silence: a 408 in the API's format after body_timeout, then EOF."""
    gateway = await make_recorded_gateway(body_timeout=0.5)
    before = failures(_dialect(api), "timeout")
    reader, writer = await _connect(gateway)
    started = time.monotonic()
    writer.write(_head(PATHS[api], 500))
    await writer.drain()
    status, headers, body = await _read_answer(reader)
    took = time.monotonic() - started
    writer.close()
    assert status == 408
    assert headers["connection"] == "close"
    assert_error_shape(api, orjson.loads(body))
    assert 0.4 <= took < 9
    assert failures(_dialect(api), "timeout") == before + 1
    assert recorder.calls == []


async def test_a_trickled_body_is_cut_off_at_the_body_timeout(
    make_recorded_gateway: GatewayMaker, recorder: Recorder
) -> None:
    """A byte every 50 ms keeps the body coming but not arriving: 408 all the same."""
    gateway = await make_recorded_gateway(body_timeout=1.0)
    reader, writer = await _connect(gateway)
    started = time.monotonic()
    writer.write(_head("/v1/messages", 10_000))

    async def trickle() -> None:
        while True:
            writer.write(b" ")
            await writer.drain()
            await asyncio.sleep(0.05)

    dripping = asyncio.create_task(trickle(), name="trickle")
    try:
        status, _, body = await _read_answer(reader)
    finally:
        dripping.cancel()
        writer.close()
    assert status == 408
    assert_error_shape("anthropic", orjson.loads(body))
    assert 0.9 <= time.monotonic() - started < 9
    assert recorder.calls == []


async def test_a_passthrough_body_that_never_comes_gets_a_408(
    make_recorded_gateway: GatewayMaker, recorder: Recorder
) -> None:
    """The body timeout bounds the other paths too (Anthropic's format for /v1/messages/...)."""
    gateway = await make_recorded_gateway(body_timeout=0.5)
    reader, writer = await _connect(gateway)
    writer.write(_head("/v1/messages/count_tokens", 200))
    await writer.drain()
    status, _, body = await _read_answer(reader)
    writer.close()
    assert status == 408
    assert_error_shape("anthropic", orjson.loads(body))
    assert recorder.calls == []


@pytest.fixture
def log_lines() -> Iterator[io.StringIO]:
    """The gateway's JSON log output, captured."""
    out = io.StringIO()
    configure_logging("json", "info", out)
    yield out
    configure_logging("console", "warning")


async def test_a_client_that_leaves_mid_upload_is_its_own_outcome(
    recorded_gateway: TestServer,
    recorder: Recorder,
    log_lines: io.StringIO,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Half a body, then the client hangs up: counted as client_disconnected, one info line,
    no traceback anywhere, nothing forwarded."""
    labels = {"dialect": "anthropic", "outcome": "client_disconnected"}
    before = REGISTRY.get_sample_value("lastword_requests_total", labels) or 0.0
    _, writer = await _connect(recorded_gateway)
    writer.write(_head("/v1/messages", 1000) + b'{"model": "m", "max_')
    await writer.drain()
    await asyncio.sleep(0.1)
    writer.close()
    deadline = time.monotonic() + 10
    while (REGISTRY.get_sample_value("lastword_requests_total", labels) or 0.0) == before:
        assert time.monotonic() < deadline, "the disconnect was not counted"
        await asyncio.sleep(0.05)
    await asyncio.sleep(0.2)
    events = [orjson.loads(line) for line in log_lines.getvalue().splitlines()]
    mine = [e for e in events if e.get("outcome") == "client_disconnected"]
    assert len(mine) == 1
    assert mine[0]["level"] == "info"
    assert not [e for e in events if e["level"] in ("error", "critical")]
    assert "Traceback" not in log_lines.getvalue()
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert failures("anthropic", "client_disconnected") >= 1
    assert recorder.calls == []


async def test_an_idle_keep_alive_connection_is_closed_after_the_idle_timeout(
    make_recorded_gateway: GatewayMaker,
) -> None:
    """After an answer, a connection left idle is closed after idle_timeout; so is one that
    never sends a request at all."""
    gateway = await make_recorded_gateway(idle_timeout=0.5)
    reader, writer = await _connect(gateway)
    writer.write(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
    await writer.drain()
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)
    assert head.startswith(b"HTTP/1.1 200")
    answered = time.monotonic()
    await asyncio.wait_for(reader.read(), 10)  # returns at EOF: the server closed
    assert 0.4 <= time.monotonic() - answered < 9
    writer.close()

    silent_reader, silent = await _connect(gateway)
    opened = time.monotonic()
    assert await asyncio.wait_for(silent_reader.read(), 10) == b""
    assert 0.4 <= time.monotonic() - opened < 9
    silent.close()


def test_the_timeouts_come_from_flags_environment_and_defaults() -> None:
    """30 s and 75 s by default; LASTWORD_BODY_TIMEOUT / _IDLE_TIMEOUT; flags win; 0 refused."""
    defaults = load_settings({}, None, {})
    assert (defaults.body_timeout, defaults.idle_timeout) == (30.0, 75.0)
    environ = {"LASTWORD_BODY_TIMEOUT": "12.5", "LASTWORD_IDLE_TIMEOUT": "20"}
    from_env = load_settings({}, None, environ)
    assert (from_env.body_timeout, from_env.idle_timeout) == (12.5, 20.0)
    args = build_parser().parse_args(["serve", "--body-timeout", "5", "--idle-timeout", "9"])
    flags = {k: v for k, v in vars(args).items() if k not in ("command", "config")}
    from_flags = load_settings(flags, None, environ)
    assert (from_flags.body_timeout, from_flags.idle_timeout) == (5.0, 9.0)
    with pytest.raises(ConfigError, match="body_timeout"):
        load_settings({"body_timeout": 0}, None, {})


async def test_a_chunked_body_over_the_limit_that_arrives_at_once_gets_a_413(
    make_recorded_gateway: GatewayMaker, recorder: Recorder
) -> None:
    """No Content-Length, and the whole body in the headers' packet: still held to the limit."""
    gateway = await make_recorded_gateway(max_body_bytes=4096)
    payload = orjson.dumps({**VALID["anthropic"], "system": "x" * 8192})
    lines = ["POST /v1/messages HTTP/1.1", "Host: 127.0.0.1", "Transfer-Encoding: chunked"]
    lines += [f"{k}: {v}" for k, v in HEADERS.items()]
    lines += ["Content-Type: application/json", "Connection: close", "", ""]
    chunked = f"{len(payload):x}\r\n".encode() + payload + b"\r\n0\r\n\r\n"
    reader, writer = await _connect(gateway)
    writer.write("\r\n".join(lines).encode() + chunked)
    await writer.drain()
    status, _, body = await _read_answer(reader)
    writer.close()
    assert status == 413
    assert_error_shape("anthropic", orjson.loads(body))
    assert recorder.calls == []


async def test_a_small_body_that_arrives_at_once_is_forwarded_whole(
    recorded_gateway: TestServer, recorder: Recorder
) -> None:
    """A body sent with its headers in one packet reaches the upstream byte for byte."""
    payload = orjson.dumps({**VALID["anthropic"], "tool_choice": {"type": "none"}})
    reader, writer = await _connect(recorded_gateway)
    head = _head("/v1/messages", len(payload)).replace(
        b"Content-Type", b"Connection: close\r\nContent-Type"
    )
    writer.write(head + payload)
    await writer.drain()
    status, _, _ = await _read_answer(reader)
    writer.close()
    assert status == 200
    [call] = recorder.calls
    assert call.body == payload
