"""Endings outlive restarts, are shared by replicas, and store outages follow policy."""

from __future__ import annotations

import socket
import time
from pathlib import Path

import aiohttp
import pytest
from redis.asyncio import Redis

from tests.conftest import GatewayFactory, base_url
from tests.e2e.conversation_play import AFTER, body_for, play_until_ended, send, turn
from tests.test_proxy import assert_error_shape


@pytest.fixture
async def clean_redis(redis_url: str) -> str:
    """The session's redis-server, emptied for this test."""
    client = Redis.from_url(redis_url)
    await client.flushdb()
    await client.aclose()
    return redis_url


@pytest.mark.parametrize("backend", ["memory", "sqlite", "redis"])
async def test_the_ending_holds_on_every_store(
    backend: str, make_gateway: GatewayFactory, tmp_path: Path, clean_redis: str
) -> None:
    """The same conversation ends and stays ended on memory, SQLite and Redis."""
    url = {"memory": "memory://", "sqlite": f"sqlite:///{tmp_path}/lw.db", "redis": clean_redis}
    gateway = await make_gateway(store=url[backend])
    history = await play_until_ended(gateway)
    status, _, _ = await turn(gateway, "anthropic", history, AFTER)
    assert status == 410


async def test_an_acknowledged_ending_survives_a_restart(
    make_gateway: GatewayFactory, tmp_path: Path
) -> None:
    """SQLite: a gateway started again on the same file still refuses the ended thread."""
    url = f"sqlite:///{tmp_path}/lastword.db"
    first = await make_gateway(store=url)
    history = await play_until_ended(first)
    await first.close()
    second = await make_gateway(store=url)
    status, _, headers = await turn(second, "anthropic", history, AFTER)
    assert (status, headers["X-Conversation-Status"]) == (410, "ended")


async def test_replicas_on_one_redis_share_endings(
    make_gateway: GatewayFactory, clean_redis: str
) -> None:
    """Ended through one replica, refused by the other."""
    one = await make_gateway(store=clean_redis)
    two = await make_gateway(store=clean_redis)
    history = await play_until_ended(one)
    status, _, _ = await turn(two, "chat", history, AFTER)
    assert status == 410


@pytest.mark.parametrize("api", ["anthropic", "chat", "responses"])
async def test_store_outage_fails_open_by_default(
    api: str, make_gateway: GatewayFactory, refusing_port: int
) -> None:
    """store_failure: open — the store is down, traffic is still served."""
    gateway = await make_gateway(store=f"redis://127.0.0.1:{refusing_port}/0")
    status, _, _ = await send(gateway, api, body_for(api, [{"role": "user", "content": "hi"}]))
    assert status == 200


@pytest.mark.parametrize("api", ["anthropic", "chat", "responses"])
async def test_store_outage_fails_closed_when_asked(
    api: str, make_gateway: GatewayFactory, refusing_port: int
) -> None:
    """store_failure: closed — the store is down, a 503 in the caller's format."""
    gateway = await make_gateway(
        store=f"redis://127.0.0.1:{refusing_port}/0", store_failure="closed"
    )
    status, body, _ = await send(gateway, api, body_for(api, [{"role": "user", "content": "hi"}]))
    assert status == 503
    assert_error_shape(api, body)


@pytest.mark.parametrize(("policy", "expected"), [("open", 200), ("closed", 503)])
async def test_readiness_reports_a_store_outage_by_policy(
    policy: str, expected: int, make_gateway: GatewayFactory, refusing_port: int
) -> None:
    """Store down: still ready when failing open (it serves), not ready when failing closed."""
    gateway = await make_gateway(store=f"redis://127.0.0.1:{refusing_port}/0", store_failure=policy)
    async with (
        aiohttp.ClientSession() as session,
        session.get(base_url(gateway) + "/readyz") as resp,
    ):
        body = await resp.json()
    assert resp.status == expected
    assert body["checks"] == {"upstreams": True, "rules": True, "store": False}


async def test_store_timeout_bounds_the_wait_on_a_silent_store(
    make_gateway: GatewayFactory,
) -> None:
    """A Redis that takes the connection and never answers: the request waits `store_timeout`
    (not the 1 s default), then fails by policy. Only a lower bound is asserted: a loaded
    machine can make any wait longer, never shorter."""
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen()  # the kernel completes the handshake; nothing ever reads or answers
        port = silent.getsockname()[1]
        gateway = await make_gateway(
            store=f"redis://127.0.0.1:{port}/0", store_failure="closed", store_timeout=3.0
        )
        started = time.monotonic()
        status, body, _ = await send(
            gateway, "anthropic", body_for("anthropic", [{"role": "user", "content": "hi"}])
        )
        waited = time.monotonic() - started
    assert status == 503
    assert_error_shape("anthropic", body)
    assert waited >= 3.0
