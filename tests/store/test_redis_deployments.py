"""The Redis store past one server: conversations spread over a cluster's primaries and
listed whole, the schema mark on a cluster, a Sentinel failover mid-traffic, and the move of
a previous release's Redis to the hash-tagged layout."""

from __future__ import annotations

import asyncio
import time
from dataclasses import replace
from pathlib import Path

import pytest
import redis
from redis.asyncio import Redis

from gateway.store import (
    CrisisMark,
    Ending,
    RedisStore,
    StoreError,
    StoreFormatError,
    Strike,
    Unlock,
)
from gateway.store import redis_codec as codec
from gateway.store import redis_keys as keys
from gateway.store.redis import SCHEMA_KEY, SCHEMA_VERSION
from gateway.store.redis_connect import connect
from tests.store.redis_cluster import RedisClusterNodes, SentinelService
from tests.store.redis_server import free_port
from tests.store.store_helpers import START, TIMEOUT

T, OTHER = "tenant-a", "tenant-b"
CONVERSATIONS = [f"conv_{i:03}" for i in range(60)]
EDGES = (START, START + 1000)


def conversation_keys_per_node(cluster: RedisClusterNodes) -> list[int]:
    """How many conversation keys each primary holds."""
    counts = []
    for node in cluster.nodes:
        with redis.Redis(host="127.0.0.1", port=node.port) as client:
            counts.append(sum(1 for _ in client.scan_iter(match=f"{keys.PREFIX}conv:*")))
    return counts


async def test_conversations_spread_over_every_primary_and_list_whole(
    redis_cluster: RedisClusterNodes,
) -> None:
    """Sixty conversations land on all three primaries; the audit listing, its pages, the
    activity counts and per-conversation reads each find every one of them."""
    redis_cluster.flush()
    store = RedisStore.from_url(redis_cluster.url, clock=lambda: START + 500, timeout=TIMEOUT)
    try:
        for i, conv in enumerate(CONVERSATIONS):
            at = START + i
            await store.add_strike(Strike(T, conv, "fp-1", "violence", "x", at, ("fp-1",)))
            await store.end(Ending(T, conv, "fp-1", "strikes", ("violence",), at + 0.5))
            await store.mark_crisis(CrisisMark(T, conv, "fp-1", "self_harm", at))
            await store.set_alias(T, conv, f"thread-{i}")
        await store.end(Ending(OTHER, "conv_x", "fp-1", "admin", (), START + 999))
        assert all(count > 0 for count in conversation_keys_per_node(redis_cluster))

        everyone = await store.endings(None, 100)
        assert len(everyone) == len(CONVERSATIONS) + 1
        assert [e.at for e in everyone] == sorted((e.at for e in everyone), reverse=True)
        pages, before = [], None
        while page := await store.endings(T, 7, before):
            pages += page
            before = page[-1].at
        assert [e.conversation_id for e in pages] == CONVERSATIONS[::-1]

        activity = await store.activity(T, EDGES)
        assert (activity.endings, activity.crisis) == ((60,), (60,))
        for i, conv in enumerate(CONVERSATIONS):
            assert await store.resolve(T, f"thread-{i}") == conv
            record = await store.conversation(T, conv)
            assert record is not None and record.alias == f"thread-{i}"
            assert (len(record.strikes), len(record.endings), len(record.crisis)) == (1, 1, 1)
    finally:
        await store.close()


async def test_lifted_endings_are_listed_lifted_across_primaries(
    redis_cluster: RedisClusterNodes,
) -> None:
    """Unlocking conversations on different primaries shows each lifted in the listing."""
    redis_cluster.flush()
    store = RedisStore.from_url(redis_cluster.url, timeout=TIMEOUT)
    try:
        for i, conv in enumerate(CONVERSATIONS[:12]):
            await store.end(Ending(T, conv, "fp-1", "strikes", ("violence",), START + i))
        for conv in CONVERSATIONS[:12:2]:
            await store.unlock(Unlock(T, conv, "reviewer", "appeal", START + 100))
        listed = {e.conversation_id: e.lifted_at for e in await store.endings(T, 100)}
        assert listed == {
            conv: START + 100 if i % 2 == 0 else None for i, conv in enumerate(CONVERSATIONS[:12])
        }
    finally:
        await store.close()


async def test_the_schema_mark_works_on_a_cluster(redis_cluster: RedisClusterNodes) -> None:
    """A new cluster is marked; Lastword keys without a mark, on any primary, are refused,
    and so is the previous release's schema (moved on one server only)."""
    redis_cluster.flush()
    store = RedisStore.from_url(redis_cluster.url, timeout=TIMEOUT)
    try:
        await store.check()
        await store.check()
        for node in redis_cluster.nodes:
            redis_cluster.flush()
            with redis.Redis(host="127.0.0.1", port=node.port) as client:
                # A key this very node serves: the check must scan every primary.
                _set_here(client)
            with pytest.raises(StoreFormatError, match="older Lastword"):
                await store.check()
        redis_cluster.flush()
        await store.check()
        marks = [_get_here(node.port) for node in redis_cluster.nodes]
        assert sorted(marks, key=bool) == [None, None, str(SCHEMA_VERSION).encode()]
        cluster = connect(redis_cluster.url, TIMEOUT).client
        try:
            await cluster.set(SCHEMA_KEY, "2")
        finally:
            await cluster.aclose()
        with pytest.raises(StoreFormatError, match="start it once on a single Redis"):
            await store.check()
    finally:
        redis_cluster.flush()
        await store.close()


def _set_here(client: redis.Redis) -> None:
    """Write a Lastword conversation key on the node `client` speaks to (it refuses the
    others with MOVED)."""
    for i in range(10_000):
        try:
            client.set(keys.conversation("t", f"conv_{i}") + "strikes", "old")
            return
        except redis.ResponseError:
            continue
    raise AssertionError("no key of the node's slots found")


def _get_here(port: int) -> bytes | None:
    """The schema mark if the node on `port` serves its slot, else None."""
    with redis.Redis(host="127.0.0.1", port=port) as client:
        try:
            value: bytes | None = client.get(SCHEMA_KEY)
        except redis.ResponseError:  # MOVED: another node serves the key
            return None
        return value


@pytest.mark.parametrize(
    "form", ["redis+cluster://127.0.0.1:{port}", "redis+sentinel://127.0.0.1:{port}/lastword"]
)
async def test_unreachable_deployments_raise_store_error(form: str) -> None:
    """A cluster or sentinels that do not answer fail every operation as StoreError (so
    `store_failure` decides), with a short message and the cause chained."""
    store = RedisStore.from_url(form.format(port=free_port()))
    try:
        for operation in (store.ping, store.check, lambda: store.path_state(T, "conv_a", [])):
            with pytest.raises(StoreError) as caught:
                await operation()
            assert caught.value.__cause__ is not None
            assert len(str(caught.value)) < 300
    finally:
        await store.close()


async def test_the_store_follows_a_sentinel_failover(tmp_path: Path) -> None:
    """Killing the primary: operations fail as StoreError (store_failure's call) while the
    sentinel promotes the replica, then the store works on the new primary, records intact."""
    with SentinelService(tmp_path, sentinels=1) as service:
        store = RedisStore.from_url(service.url, clock=lambda: START + 10, timeout=TIMEOUT)
        try:
            before = await store.add_strike(Strike(T, "conv_a", "fp-1", "violence", "x", START))
            assert len(before.strikes) == 1
            with redis.Redis(host="127.0.0.1", port=service.primary_port()) as primary:
                assert primary.execute_command("WAIT", 1, 10_000) == 1  # replicated
            old = service.kill_primary()
            failures, deadline = 0, time.monotonic() + 90
            while True:
                try:
                    after = await store.add_strike(
                        Strike(T, "conv_a", "fp-2", "violence", "x", START + 1)
                    )
                    break
                except StoreError:
                    failures += 1
                    if time.monotonic() > deadline:
                        raise
                    await asyncio.sleep(0.2)
            assert service.wait_for_new_primary(old, timeout=5) != old
            assert failures > 0
            assert {s.fingerprint for s in after.strikes} == {"fp-1", "fp-2"}
            await store.ping()
        finally:
            await store.close()


async def test_a_schema_2_redis_is_moved_to_the_tagged_layout(redis_url: str) -> None:
    """A Redis written by the previous release (keys without hash tags, global indexes) is
    moved over at start: records, lift times, audit listing, activity and aliases read back,
    no old key is left, and the check is quiet the second time."""
    tenant, conv, clock = "org:acme", "conv_0123abcd", START + 500
    strike = Strike(tenant, conv, "fp-1", "violence", "x", START + 1, ("fp-1",))
    lifted = Ending(tenant, conv, "fp-1", "strikes", ("violence",), START + 2)
    standing = Ending(tenant, conv, "fp-2", "model", (), START + 4)
    mark = CrisisMark(tenant, conv, "fp-2", "self_harm", START + 3)
    unlock = Unlock(tenant, conv, "reviewer", "appeal", START + 3, lifted=1)
    old = f"lastword:conv:{tenant}:{conv}:"
    members = {e: codec.member(e) for e in (lifted, standing)}
    client = Redis.from_url(redis_url)
    store = RedisStore.from_url(redis_url, clock=lambda: clock, timeout=TIMEOUT)
    try:
        await client.flushdb()
        await client.set(SCHEMA_KEY, "2")
        await client.zadd(old + "strikes", {codec.member(strike): strike.at})
        await client.zadd(old + "endings", {m: e.at for e, m in members.items()})
        await client.hset(old + "standing", "fp-2", members[standing])
        for index in ("lastword:endings", f"lastword:endings:{tenant}"):
            await client.zadd(index, {m: e.at for e, m in members.items()})
        await client.hset("lastword:lifted", members[lifted], repr(START + 3))
        await client.zadd(old + "unlocks", {f"[1,{codec.member(unlock)}]": unlock.at})
        await client.zadd(old + "crisis", {codec.member(mark): mark.at})
        await client.zadd(f"lastword:crisis:{tenant}", {codec.turn_member(mark): mark.at})
        await client.set(old + "alias", "thread")
        await client.set(f"lastword:alias:{tenant}:thread", conv)

        await store.check()
        await store.check()

        assert await client.get(SCHEMA_KEY) == str(SCHEMA_VERSION).encode()
        names = sorted(_text(k) for k in await client.keys("*"))
        assert not [n for n in names if n.startswith(("lastword:endings", "lastword:crisis"))]
        assert not [n for n in names if n.startswith("lastword:conv:") and "{" not in n]
        assert "lastword:lifted" not in names
        record = await store.conversation(tenant, conv)
        assert record is not None
        assert (record.strikes, record.crisis, record.unlocks) == ((strike,), (mark,), (unlock,))
        assert record.alias == "thread"
        assert set(record.endings) == {replace(lifted, lifted_at=START + 3), standing}
        listed = await store.endings(tenant, 10)
        assert listed == [standing, replace(lifted, lifted_at=START + 3)]
        assert await store.endings(None, 10) == listed
        activity = await store.activity(tenant, (START, START + 10))
        assert (activity.endings, activity.crisis) == ((2,), (1,))
        assert await store.resolve(tenant, "thread") == conv
        assert (await store.path_state(tenant, conv, ["fp-2"])).ending == standing
    finally:
        await client.flushdb()
        await client.aclose()
        await store.close()


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


async def test_an_ending_never_listed_is_listed_by_the_next_attempt(redis_url: str) -> None:
    """An ending recorded in its conversation but missing from the audit index (its gateway
    died between the two steps) is listed when its point is ended again, unchanged."""
    client = Redis.from_url(redis_url)
    store = RedisStore.from_url(redis_url, clock=lambda: START + 10, timeout=TIMEOUT)
    first = Ending(T, "conv_a", "fp-1", "strikes", ("violence",), START + 1)
    try:
        await client.flushdb()
        await store.end(first)
        number = keys.bucket(T, "conv_a")
        await client.delete(keys.endings(number, None), keys.endings(number, T))
        assert await store.endings(T, 10) == []
        assert await store.end(replace(first, at=START + 5)) == first
        assert await store.endings(T, 10) == await store.endings(None, 10) == [first]
    finally:
        await client.flushdb()
        await client.aclose()
        await store.close()
