"""A megabyte-long message is scanned in another process, not on the event loop."""

from __future__ import annotations

import asyncio
import statistics
import time

import aiohttp
import orjson
import pytest
from aiohttp.test_utils import TestServer

from gateway.detect import OFF_LOOP_CHARS
from tests.conftest import GatewayFactory, base_url
from tests.detect.recall import read_corpus
from tests.e2e.conversation_play import HEADERS

# A scan that held the loop would add its whole duration (seconds for this megabyte) to
# the small requests it overlaps; in a thread beside the loop, its GIL held them back by
# a switch interval (5 ms) at each handover. In a process of its own (`detect.offloop`),
# the loop only hands the text over: the small requests' median stays within a few
# milliseconds of their median alone, the rest of this bound being a busy 2-core machine's.
MAX_ADDED_MEDIAN_SECONDS = 0.01
BIG_CHARS = 1_000_000
SMALL_SAMPLES = 30


def big_text() -> str:
    """A megabyte of benign prompts: keyword-dense, so the rules have much to look at."""
    benign = " ".join(sample.text for sample in read_corpus("corpus_benign.txt"))
    return (benign + " ") * (BIG_CHARS // len(benign) + 1)


def body(text: str) -> bytes:
    """An Anthropic Messages request of one user turn."""
    return orjson.dumps(
        {"model": "m", "max_tokens": 10, "messages": [{"role": "user", "content": text}]}
    )


async def small_request(session: aiohttp.ClientSession, url: str, i: int) -> float:
    """Send one small request; return how long its answer took."""
    started = time.perf_counter()
    async with session.post(url, data=body(f"Tell me about tulips, {i}."), headers=HEADERS) as r:
        await r.read()
        assert r.status == 200
    return time.perf_counter() - started


@pytest.mark.timeout(300)
async def test_small_requests_stay_quick_while_a_megabyte_is_scanned(
    make_recorded_gateway: GatewayFactory,
) -> None:
    """Small requests sent while a 1 MB message is scanned take about as long as without it."""
    gateway: TestServer = await make_recorded_gateway()
    url = base_url(gateway) + "/v1/messages"
    big = body(big_text())
    assert len(big) > 100 * OFF_LOOP_CHARS
    async with aiohttp.ClientSession() as session, aiohttp.ClientSession() as big_session:
        for i in range(5):  # warm the connection pool and the code paths
            await small_request(session, url, i)
        alone = [await small_request(session, url, i) for i in range(SMALL_SAMPLES)]

        async def send_big() -> float:
            started = time.perf_counter()
            async with big_session.post(url, data=big, headers=HEADERS) as resp:
                await resp.read()
                assert resp.status == 200
            return time.perf_counter() - started

        big_task = asyncio.create_task(send_big(), name="big-request")
        beside: list[float] = []
        await asyncio.sleep(0)  # the big request is on its way before the first small one
        while not big_task.done():
            beside.append(await small_request(session, url, len(beside)))
        big_seconds = await big_task

    added = statistics.median(beside) - statistics.median(alone)
    print(
        f"\nbig {big_seconds:.2f}s; small alone median {statistics.median(alone) * 1000:.1f} ms,"
        f" beside median {statistics.median(beside) * 1000:.1f} ms over {len(beside)} requests"
    )
    assert added < MAX_ADDED_MEDIAN_SECONDS, (added, len(beside), big_seconds)
    # The big request took long enough for many small ones to run beside it.
    assert len(beside) >= 10, (len(beside), big_seconds)
