"""The answers the gateway's HTTP server writes itself: JSON in the caller's format, no banner."""

from __future__ import annotations

import asyncio
import gc
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import aiohttp
import orjson
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from yarl import URL

from gateway.app import create_app
from gateway.config import Settings
from gateway.proxy import Proxy
from gateway.server import BANNER, GatewayRunner, settle_heap
from tests.conftest import GatewayFactory, base_url, free_port
from tests.test_routing import assert_error_format

ANTHROPIC = {"x-api-key": "sk-server-test", "anthropic-version": "2023-06-01"}
OPENAI = {"authorization": "Bearer sk-server-test"}


class GatewayTestServer(TestServer):
    """A test server running the app through the gateway's own runner, as `serve` does."""

    async def _make_runner(self, **kwargs: Any) -> web.AppRunner:
        return GatewayRunner(self.app, **kwargs)


async def _call(
    server: TestServer, method: str, path: str, headers: dict[str, str] | None = None, **kw: Any
) -> tuple[int, Any, Any]:
    async with (
        aiohttp.ClientSession() as session,
        session.request(method, base_url(server) + path, headers=headers, **kw) as resp,
    ):
        raw = await resp.read()
        try:
            return resp.status, orjson.loads(raw), resp.headers
        except orjson.JSONDecodeError:
            return resp.status, raw, resp.headers


def assert_no_banner(headers: Any) -> None:
    """`Server` names the gateway, never the Python or aiohttp versions."""
    assert headers.getall("Server") == [BANNER]


@pytest.mark.parametrize(
    ("method", "path", "headers", "api", "status"),
    [
        ("GET", "/v1/messages", ANTHROPIC, "anthropic", 405),
        ("PUT", "/v1/messages", ANTHROPIC, "anthropic", 405),
        ("GET", "/v1/chat/completions", OPENAI, "chat", 405),
        ("DELETE", "/v1/responses", OPENAI, "responses", 405),
        ("GET", "/v1/./messages", ANTHROPIC, "anthropic", 405),
        ("POST", "/healthz", OPENAI, "chat", 405),
        ("POST", "/metrics", ANTHROPIC, "anthropic", 405),
        ("POST", "/v1%2Fmessages", ANTHROPIC, "anthropic", 400),
        ("POST", "/v1%2Fresponses", OPENAI, "responses", 400),
    ],
)
async def test_aiohttps_own_answers_are_json_in_the_callers_format(
    gateway: TestServer, method: str, path: str, headers: dict[str, str], api: str, status: int
) -> None:
    """A wrong method or a refused path gets the API's JSON error, `Allow` on a 405."""
    # The path goes out byte for byte (encoded=True): no client-side clean-up.
    async with (
        aiohttp.ClientSession() as session,
        session.request(
            method, URL(base_url(gateway) + path, encoded=True), headers=headers
        ) as resp,
    ):
        body = orjson.loads(await resp.read())
        assert resp.status == status
        assert resp.content_type == "application/json"
        assert_error_format(api, body)
        assert_no_banner(resp.headers)
        if status == 405:
            assert resp.headers["Allow"]


async def test_a_preflight_to_an_inspected_route_still_goes_upstream(
    gateway: TestServer, simulator: TestServer
) -> None:
    """OPTIONS on an inspected route is no chat call: it goes on to the upstream."""
    status, _, headers = await _call(gateway, "OPTIONS", "/v1/messages", ANTHROPIC)
    assert status == 404  # the simulator has no CORS; what matters is who answered
    assert headers["Via"] == "1.1 lastword"


async def test_upstream_answers_carry_the_gateways_banner(gateway: TestServer) -> None:
    """Passed-through and inspected answers name the gateway as the server."""
    status, _, headers = await _call(gateway, "GET", "/v1/models", ANTHROPIC)
    assert status == 200
    assert_no_banner(headers)
    status, _, headers = await _call(
        gateway,
        "POST",
        "/v1/messages",
        ANTHROPIC,
        json={"model": "m", "max_tokens": 5, "messages": [{"role": "user", "content": "Hi"}]},
    )
    assert status == 200
    assert_no_banner(headers)


async def test_an_admin_body_over_the_limit_is_the_admin_apis_json(
    make_gateway: GatewayFactory,
) -> None:
    """aiohttp's 413 on an admin call is the admin API's JSON error."""
    gateway = await make_gateway(admin_token="adm1n-t0ken", max_body_bytes=1024)
    status, body, headers = await _call(
        gateway,
        "POST",
        "/admin/conversations/conv_x/end",
        {"Authorization": "Bearer adm1n-t0ken", "X-Api-Key": "k"},
        data=b"{" + b" " * 4096 + b"}",
    )
    assert status == 413
    assert body == {"error": {"type": "request_too_large", "message": body["error"]["message"]}}
    assert_no_banner(headers)


async def test_a_fault_in_a_handler_is_a_json_500_without_a_traceback(
    gateway: TestServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An unexpected exception is logged and answered 500 in the API's format."""

    async def broken(_self: Proxy, _request: web.Request) -> web.StreamResponse:
        raise RuntimeError("secret internals")

    monkeypatch.setattr(Proxy, "passthrough", broken)
    status, body, headers = await _call(gateway, "GET", "/v1/models", OPENAI)
    assert status == 500
    assert_error_format("chat", body)
    assert "secret" not in orjson.dumps(body).decode()
    assert_no_banner(headers)


async def _raw(port: int, request: bytes) -> tuple[bytes, bytes]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(request)
        data = await asyncio.wait_for(reader.read(), timeout=30)
    finally:
        writer.close()
    head, _, body = data.partition(b"\r\n\r\n")
    return head, body


UNPARSABLE = [
    b"BLAH\r\n\r\n",
    b"GET /v1/m\xc3\xa9ssages HTTP/1.1\r\nHost: x\r\n\r\n",
    b"POST v1/messages HTTP/1.1\r\nHost: x\r\n\r\n",
    b"GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 10000 + b"\r\n\r\n",
    b"GET / HTTP/1.1\r\nBad Header\r\n\r\n",
]


@pytest.mark.parametrize("request_bytes", UNPARSABLE)
async def test_requests_aiohttp_cannot_parse_get_json_errors(
    simulator: TestServer, request_bytes: bytes
) -> None:
    """A malformed request gets a JSON 4xx without a version banner, from the real runner."""
    settings = Settings(
        anthropic_upstream=base_url(simulator),
        openai_upstream=base_url(simulator),
        store="memory://",
    )
    server = GatewayTestServer(create_app(settings))
    await server.start_server()
    try:
        head, body = await _raw(server.port or 0, request_bytes)
    finally:
        await server.close()
    status = int(head.split(b" ")[1])
    assert 400 <= status < 500
    assert b"\r\nContent-Type: application/json" in head
    assert b"aiohttp" not in head and b"Python" not in head
    assert f"\r\nServer: {BANNER}".encode() in head
    assert_error_format("chat", orjson.loads(body))


def _wait_listening(port: int, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            if time.monotonic() > deadline or proc.poll() is not None:
                raise RuntimeError("the gateway did not start") from None
            time.sleep(0.1)


def test_lastword_serve_answers_unparsable_requests_in_json_and_stops_on_sigterm() -> None:
    """The real command serves through the gateway's runner and exits cleanly on SIGTERM."""
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "gateway", "serve", "--port", str(port), "--store", "memory://"],
        env={**os.environ, "LASTWORD_LOG_LEVEL": "warning"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        _wait_listening(port, proc)
        head, body = asyncio.run(_raw(port, b"BLAH\r\n\r\n"))
        assert head.startswith(b"HTTP/1.0 400")
        assert f"\r\nServer: {BANNER}".encode() in head
        assert_error_format("chat", orjson.loads(body))
    finally:
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(timeout=60)
    assert code == 0


def test_start_up_objects_are_frozen_out_of_the_collectors_way() -> None:
    """After settle_heap, what exists is frozen, young collections run far less often, and a
    thread holds the GIL for a shorter turn while the loop waits."""
    threshold = gc.get_threshold()
    interval = sys.getswitchinterval()
    kept = [[index] for index in range(1000)]  # tracked containers, as start-up leaves
    try:
        settle_heap()
        assert gc.get_freeze_count() >= len(kept)
        assert gc.get_threshold()[0] > threshold[0]
        assert gc.get_threshold()[1:] == threshold[1:]
        assert sys.getswitchinterval() < interval
    finally:
        gc.unfreeze()
        gc.set_threshold(*threshold)
        sys.setswitchinterval(interval)


# The scanning process parses a 1 MB body (`dialects.parse_named`), as for every large
# request; the gateway's process receives it in the executor's thread and frees it on the
# main one. Prints the fewest page faults one round trip took, after two to warm up.
_FAULTS_PER_ROUND_TRIP = """
import concurrent.futures, multiprocessing, resource, sys
import orjson
from gateway.dialects import parse_named
from gateway.server import keep_freed_memory

if __name__ == "__main__":
    if sys.argv[1] == "keep":
        assert keep_freed_memory()
    text = "\\U0001f600 " + "ordinary words, " * 70_000
    message = {"role": "user", "content": text}
    body = orjson.dumps({"model": "m", "max_tokens": 9, "messages": [message]})
    faults = []
    context = multiprocessing.get_context("spawn")
    with concurrent.futures.ProcessPoolExecutor(1, mp_context=context) as pool:
        for _ in range(6):
            before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
            chat = pool.submit(parse_named, "anthropic", body).result()
            del chat
            faults.append(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
    print(min(faults[2:]))
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's allocator")
def test_memory_freed_by_the_loop_is_kept_for_the_next_large_request(tmp_path: Path) -> None:
    """Without `keep_freed_memory`, every large parsed request received from the scanning
    process faults its pages in anew (about 2,000 faults, milliseconds holding the GIL);
    with it, freed memory is reused."""
    script = tmp_path / "round_trips.py"
    script.write_text(_FAULTS_PER_ROUND_TRIP)

    def faults(mode: str) -> int:
        done = subprocess.run(
            [sys.executable, str(script), mode], capture_output=True, text=True, check=True
        )
        return int(done.stdout)

    assert faults("default") > 500
    assert faults("keep") < 50
