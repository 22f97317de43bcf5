"""Internal errors on every path are logged by type and place, never with a key or the text."""

from __future__ import annotations

import asyncio
import gc
import subprocess
import sys
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import aiohttp
import orjson
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from gateway.app import create_app
from gateway.config import Settings
from gateway.detect.rules import RuleSet
from gateway.dialects import SseEvent
from gateway.editor import ResponseEditor
from gateway.logs import configure_logging
from gateway.proxy import Proxy
from gateway.store import MemoryStore, PathState
from tests.conftest import base_url

# One key looks like a key (the pattern redaction knows), the other does not: no path may
# rely on recognising a credential by its look.
API_KEY = "sk-ant-api03-LEAKPROBE0123456789abcdef"
BEARER = "lwprobe-QZX7-plain-token-4242"
PROMPT = "Describe the xylophagous heron of Quillabamba in detail"
SECRETS = (API_KEY, BEARER, PROMPT, "xylophagous", "Quillabamba")
HEADERS = {"x-api-key": API_KEY, "authorization": f"Bearer {BEARER}"}

Fault = Callable[[pytest.MonkeyPatch], None]


def _failing_detector(monkeypatch: pytest.MonkeyPatch) -> None:
    def scan(self: RuleSet, text: str) -> Any:
        raise KeyError(f"no rule for {text!r}")

    monkeypatch.setattr(RuleSet, "scan_user_turn", scan)


def _failing_editor(monkeypatch: pytest.MonkeyPatch) -> None:
    async def block(self: ResponseEditor, data: bytes, events: list[SseEvent]) -> bytes:
        raise ValueError(f"cannot edit {data!r} after {PROMPT}")

    monkeypatch.setattr(ResponseEditor, "block", block)


def _failing_handler(monkeypatch: pytest.MonkeyPatch) -> None:
    async def passthrough(self: Proxy, request: web.Request) -> web.StreamResponse:
        body = await request.text()
        raise RuntimeError(f"{dict(request.headers)} {body}")

    monkeypatch.setattr(Proxy, "passthrough", passthrough)


def _lost_task(monkeypatch: pytest.MonkeyPatch) -> None:
    """A detector that starts a task which fails with the prompt and is never awaited."""
    original = RuleSet.scan_user_turn

    def scan(self: RuleSet, text: str) -> Any:
        async def fail() -> None:
            raise ValueError(f"lost {text}")

        asyncio.ensure_future(fail())  # noqa: RUF006 - dropped on purpose: the fault under test
        return original(self, text)

    monkeypatch.setattr(RuleSet, "scan_user_turn", scan)


class FailingStore(MemoryStore):
    """A store whose path read fails with an unexpected error."""

    async def path_state(self, tenant: str, conversation_id: str, fingerprints: Any) -> PathState:
        """Fail as a buggy backend would, naming what it was given."""
        raise RuntimeError(f"backend broke on {tenant} {conversation_id} {fingerprints}")


# (fault, store, request path, stream, event logged, exception type logged)
CASES: dict[str, tuple[Fault | None, bool, str, bool, str, str]] = {
    "detector": (_failing_detector, False, "/v1/messages", False, "internal_error", "KeyError"),
    "store": (None, True, "/v1/messages", False, "internal_error", "RuntimeError"),
    "editor": (_failing_editor, False, "/v1/messages", True, "stream_failed", "ValueError"),
    # A handler fault outside the proxy: the server's JSON error middleware logs it.
    "handler": (
        _failing_handler,
        False,
        "/v1/models/whatever",
        False,
        "internal_error",
        "RuntimeError",
    ),
    "asyncio": (
        _lost_task,
        False,
        "/v1/messages",
        False,
        "Task exception was never retrieved",
        "ValueError",
    ),
}


@pytest.fixture(params=["json", "console"])
def log_file(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """Logs of both formats written to a real file (so through its descriptor), captured."""
    path = tmp_path / "gateway.log"
    with path.open("w", encoding="utf-8") as out:
        configure_logging(request.param, "info", out)
        yield request.param, path
    configure_logging("console", "warning")


async def _request(server: TestServer, path: str, stream: bool) -> int:
    body = {
        "model": "m",
        "max_tokens": 50,
        "stream": stream,
        "messages": [{"role": "user", "content": PROMPT}],
    }
    headers = {**HEADERS, "anthropic-version": "2023-06-01", "content-type": "application/json"}
    async with (
        aiohttp.ClientSession() as session,
        session.post(base_url(server) + path, data=orjson.dumps(body), headers=headers) as resp,
    ):
        await resp.read()
        return resp.status


@pytest.mark.parametrize("case", sorted(CASES))
async def test_an_internal_error_logs_no_key_and_no_text(
    case: str,
    log_file: tuple[str, Path],
    monkeypatch: pytest.MonkeyPatch,
    capfd: pytest.CaptureFixture[str],
    aiohttp_server: Callable[..., Awaitable[TestServer]],
    simulator: TestServer,
) -> None:
    """Whatever fails, the log names the event and exception type and holds no secret or text."""
    fmt, path = log_file
    fault, failing_store, route, stream, event, exc_type = CASES[case]
    if fault is not None:
        fault(monkeypatch)
    settings = Settings(
        anthropic_upstream=base_url(simulator),
        openai_upstream=base_url(simulator) + "/v1",
        store="memory://",
    )
    server = await aiohttp_server(create_app(settings, FailingStore() if failing_store else None))
    status = await _request(server, route, stream)
    gc.collect()  # a dropped task reports its exception when it is collected
    await asyncio.sleep(0)
    await server.close()
    assert status in (200, 500)

    written = path.read_text(encoding="utf-8")
    captured = capfd.readouterr()
    everything = written + captured.out + captured.err
    for secret in SECRETS:
        assert secret not in everything, f"{secret!r} reached the log"
    if fmt == "json":
        records = [orjson.loads(line) for line in written.splitlines()]
        failures = [r for r in records if r["event"] == event]
        assert failures, f"no {event!r} record in {written}"
        assert failures[0]["exception"][0]["exc_type"] == exc_type
    else:
        assert event in written
        assert f"{exc_type} (message not logged)" in written


UNCAUGHT = """
import sys, threading
from gateway.logs import configure_logging, install_exception_hooks
configure_logging(sys.argv[1], "info")
install_exception_hooks()
headers = {"x-api-key": sys.argv[2]}
thread = threading.Thread(target=lambda: int(sys.argv[3]), name="worker-thread")
thread.start()
thread.join()
raise ValueError(f"cannot use {sys.argv[3]} with {headers}")
"""


@pytest.mark.parametrize("fmt", ["json", "console"])
def test_an_uncaught_exception_is_logged_without_its_message(fmt: str) -> None:
    """A crash in a thread or at top level is a log record by type, no key and no text."""
    done = subprocess.run(
        [sys.executable, "-c", UNCAUGHT, fmt, API_KEY, PROMPT],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 1
    everything = done.stdout + done.stderr
    for secret in SECRETS:
        assert secret not in everything, f"{secret!r} reached the log"
    if fmt == "json":
        records = {r["event"]: r for r in map(orjson.loads, done.stderr.splitlines())}
        assert records["thread_exception"]["exception"][0]["exc_type"] == "ValueError"
        assert records["thread_exception"]["thread"] == "worker-thread"
        assert records["uncaught_exception"]["exception"][0]["exc_type"] == "ValueError"
    else:
        assert "thread_exception" in done.stderr
        assert "uncaught_exception" in done.stderr
        assert "ValueError (message not logged)" in done.stderr
