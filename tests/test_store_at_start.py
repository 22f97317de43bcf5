"""A store that does not answer at start is said loudly: in the log and in `/readyz`."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiohttp
import orjson
import pytest

from gateway.startup import store_location
from tests.conftest import GatewayFactory, base_url, free_port

PASSWORD = "s3cret-redis-password"


@pytest.fixture
def deaf_port() -> Iterator[int]:
    """A loopback port bound but never listening: every connection to it is refused."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        yield int(sock.getsockname()[1])


def _readyz(port: int) -> tuple[int, dict[str, Any]]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=10) as resp:
            return resp.status, orjson.loads(resp.read())
    except urllib.error.HTTPError as exc:
        return exc.code, orjson.loads(exc.read())


def _records_until_started(proc: subprocess.Popen[bytes], port: int) -> list[dict[str, Any]]:
    """The gateway's log records up to `starting`, once it accepts connections."""
    assert proc.stderr is not None
    records: list[dict[str, Any]] = []
    while not records or records[-1]["event"] != "starting":
        line = proc.stderr.readline()
        assert line, "the gateway exited before starting"
        records.append(orjson.loads(line))
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return records
        except OSError:
            time.sleep(0.1)
    raise AssertionError("the gateway did not listen")


@pytest.mark.parametrize(
    ("policy", "status", "ready", "effect"),
    [
        ("open", 200, "degraded", "serving without enforcement"),
        ("closed", 503, "not ready", "answered 503"),
    ],
)
def test_a_wrong_redis_url_is_said_at_start_and_in_readyz(
    deaf_port: int, policy: str, status: int, ready: str, effect: str, tmp_path: Path
) -> None:
    """Redis refusing connections: an error line before `starting` saying what is lost, and
    `/readyz` says it too (200 and `degraded` when failing open, 503 when closed)."""
    port = free_port()
    proc = subprocess.Popen(
        [
            sys.executable, "-m", "gateway", "serve", "--port", str(port),
            "--store", f"redis://:{PASSWORD}@127.0.0.1:{deaf_port}/0",
            "--anthropic-upstream", "http://127.0.0.1:9", "--openai-upstream", "http://127.0.0.1:9",
        ],
        cwd=tmp_path, env={**os.environ, "LASTWORD_STORE_FAILURE": policy},
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True,
    )  # fmt: skip
    try:
        records = _records_until_started(proc, port)
        code, body = _readyz(port)
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=60)
        assert proc.stderr is not None
        rest = proc.stderr.read()
        proc.stderr.close()
    warned = [r for r in records if r["event"] == "store_unreachable_at_start"]
    assert len(warned) == 1, records
    assert warned[0]["level"] == "error"
    assert warned[0]["store"] == f"redis://127.0.0.1:{deaf_port}/0"
    assert warned[0]["store_failure"] == policy
    assert effect in warned[0]["effect"]
    assert PASSWORD not in str(records) + rest.decode()
    assert code == status
    assert body["status"] == ready
    assert body["checks"]["store"] is False
    assert len(body["warnings"]) == 1
    assert body["warnings"][0].startswith("store unreachable: ")
    assert effect in body["warnings"][0]


async def test_a_healthy_gateway_is_ready_without_warnings(make_gateway: GatewayFactory) -> None:
    """Every check passing: 200, `ready`, an empty `warnings` list."""
    gateway = await make_gateway()
    async with (
        aiohttp.ClientSession() as session,
        session.get(base_url(gateway) + "/readyz") as resp,
    ):
        body = await resp.json()
    assert resp.status == 200
    assert body == {
        "status": "ready",
        "checks": {"upstreams": True, "rules": True, "store": True},
        "warnings": [],
    }


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("redis://:pw@redis:6379/0", "redis://redis:6379/0"),
        ("rediss://user:pw@cache.internal/2", "rediss://cache.internal/2"),
        ("redis://:pw@[::1]:6379/0", "redis://[::1]:6379/0"),
        ("redis://127.0.0.1:6379/0", "redis://127.0.0.1:6379/0"),
        ("sqlite:///var/lib/lastword.db", "sqlite:///var/lib/lastword.db"),
        ("redis+cluster://:pw@r1:7000,r2:7000", "redis+cluster://r1:7000,r2:7000"),
        ("redis+sentinel://u:p@s1,[::1]:26379/main/2", "redis+sentinel://s1,[::1]:26379/main/2"),
    ],
)
def test_the_store_url_is_logged_without_credentials(url: str, shown: str) -> None:
    """User and password leave the URL; host, port and database stay."""
    assert store_location(url) == shown
