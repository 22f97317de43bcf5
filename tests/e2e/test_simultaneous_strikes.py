"""Strikes sent at once still end the conversation: turns 1, 1-2 and 1-3 of a harmful
conversation in flight together, on every store and across gateway processes."""

from __future__ import annotations

import asyncio
import itertools
import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiohttp
import orjson
import pytest
from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families
from redis import Redis as SyncRedis
from redis.asyncio import Redis

from tests.conftest import GatewayFactory, base_url, free_port
from tests.e2e.conversation_play import AFTER, HARMFUL, HEADERS, PATHS, body_for

TRIALS = 20
ENDED = "lastword_conversations_ended_total"
ORDERS = list(itertools.permutations((0, 40, 80)))
# The assistant turns between the harmful ones: they leave no mark on the path, whatever
# they say (and saying no refusal keeps the simulator from calling the end tool).
ANSWER = {"role": "assistant", "content": "Let me think about that."}


def histories(trial: int) -> list[list[dict[str, Any]]]:
    """Turns 1, 1-2, 1-3 and the fourth turn after them, for one trial's conversation."""
    turns: list[dict[str, Any]] = []
    out = []
    for text in [*HARMFUL, AFTER]:
        if turns:
            turns.append(ANSWER)
        turns.append({"role": "user", "content": text if text == AFTER else f"{text} ({trial})"})
        out.append(list(turns))
    return out


async def post(
    session: aiohttp.ClientSession,
    url: str,
    history: list[dict[str, Any]],
    key: str,
    hang_ms: int = 0,
) -> tuple[int, Any, str]:
    """Send one Anthropic request as the tenant `key` (the simulated model holding its answer
    `hang_ms`); return the status, the JSON body and the conversation status."""
    headers = {**HEADERS, "x-api-key": key, "authorization": f"Bearer {key}"}
    headers["x-sim-hang-ms"] = str(hang_ms)
    data = orjson.dumps(body_for("anthropic", history))
    async with session.post(url + PATHS["anthropic"], data=data, headers=headers) as resp:
        return resp.status, orjson.loads(await resp.read()), resp.headers["X-Conversation-Status"]


async def play_trials(urls: list[str], tag: str) -> list[int]:
    """Run the trials, turns 1, 1-2, 1-3 at once (spread over `urls`), then the fourth turn;
    return the trials whose fourth turn was not refused as ended."""
    missed = []
    async with aiohttp.ClientSession() as session:
        for trial in range(TRIALS):
            key = f"sk-ant-simultaneous-{tag}-{trial}"
            first, second, third, fourth = histories(trial)
            # Each request reads its path as it arrives and records its strike once answered;
            # the model answers the three in each of the six orders in turn, so each request
            # is, in some trials, the last to write.
            hang = ORDERS[trial % len(ORDERS)]
            answers = await asyncio.gather(
                *(
                    post(session, urls[i % len(urls)], history, key, hang[i])
                    for i, history in enumerate((first, second, third))
                )
            )
            assert [status for status, _, _ in answers] == [200, 200, 200], answers
            # Only a request whose own path the ending covers is told in band: turn 1-3's,
            # when it wrote last. Turns 1 and 1-2 stay open to other branches.
            assert [status for _, _, status in answers[:2]] == ["active", "active"]
            status, body, conversation = await post(session, urls[trial % len(urls)], fourth, key)
            if conversation != "ended":
                missed.append(trial)
                continue
            assert status == 410
            assert body["error"]["type"] == "conversation_ended"
            assert body["conversation_ended"]["reason"] == "strikes"
    return missed


def ended_total() -> float:
    """Conversations ended by strikes so far, as this process's metrics count them."""
    return REGISTRY.get_sample_value(ENDED, {"reason": "strikes"}) or 0.0


@pytest.fixture
async def clean_redis(redis_url: str) -> str:
    """The session's redis-server, emptied for this test."""
    client = Redis.from_url(redis_url)
    await client.flushdb()
    await client.aclose()
    return redis_url


@pytest.mark.parametrize("backend", ["memory", "sqlite", "redis"])
async def test_strikes_sent_at_once_always_end_the_conversation(
    backend: str, make_gateway: GatewayFactory, tmp_path: Path, clean_redis: str
) -> None:
    """Turns 1, 1-2 and 1-3 sent at once, all refused: the conversation is ended every time
    (the fourth turn gets the terminal answer), and each ending is counted once."""
    url = {"memory": "memory://", "sqlite": f"sqlite:///{tmp_path}/lw.db", "redis": clean_redis}
    gateway = await make_gateway(store=url[backend], policy={"model_can_end": False})
    before = ended_total()
    assert await play_trials([base_url(gateway)], backend) == []
    assert ended_total() == before + TRIALS


def _wait_ready(url: str, proc: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            tail = log.read_text(errors="replace")[-3000:]
            raise AssertionError(f"a gateway process exited ({proc.returncode}):\n{tail}")
        try:
            with urllib.request.urlopen(url + "/readyz", timeout=5):
                return
        except OSError:
            time.sleep(0.1)
    raise AssertionError("a gateway process did not start")


@pytest.fixture
def two_gateways(
    request: pytest.FixtureRequest, simulator_process: str, tmp_path: Path
) -> Iterator[list[str]]:
    """Two `lastword serve` processes sharing the store URL the test is parametrized with."""
    store: str = request.param
    if store == "redis":
        store = request.getfixturevalue("redis_url")
        with SyncRedis.from_url(store) as client:
            client.flushdb()
    else:
        store = f"sqlite:///{tmp_path}/shared.db"
    config = tmp_path / "lastword.yaml"
    config.write_text("policy:\n  model_can_end: false\n")
    procs: list[subprocess.Popen[bytes]] = []
    urls = []
    logs = [tmp_path / f"gateway-{i}.log" for i in range(2)]
    try:
        for log in logs:
            port = free_port()
            command = [sys.executable, "-m", "gateway", "serve", "--port", str(port)]
            command += ["--store", store, "--config", str(config), "--log-level", "warning"]
            command += ["--anthropic-upstream", simulator_process]
            command += ["--openai-upstream", simulator_process + "/v1"]
            with log.open("wb") as out:
                procs.append(
                    subprocess.Popen(
                        command, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
                    )
                )
            urls.append(f"http://127.0.0.1:{port}")
        for url, proc, log in zip(urls, procs, logs, strict=True):
            _wait_ready(url, proc, log)
        yield urls
    finally:
        for proc in procs:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=20)


@pytest.mark.parametrize("two_gateways", ["sqlite", "redis"], indirect=True)
async def test_strikes_sent_at_once_to_two_processes_end_the_conversation(
    two_gateways: list[str],
) -> None:
    """Two gateway processes on one SQLite file or one Redis, the three turns spread over
    both: the conversation is ended every time, whichever process wrote last, and each
    ending is counted by one process only."""
    assert await play_trials(two_gateways, "processes") == []
    assert sum(map(scraped_endings, two_gateways)) == TRIALS


def scraped_endings(url: str) -> float:
    """Conversations ended by strikes, as one gateway process's /metrics counts them."""
    with urllib.request.urlopen(url + "/metrics", timeout=10) as resp:
        text = resp.read().decode()
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == ENDED and sample.labels == {"reason": "strikes"}:
                return float(sample.value)
    return 0.0
