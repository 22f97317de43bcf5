"""Fixtures running one behaviour suite against every store backend."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis

from gateway.store import Retention, Store, open_store
from tests.store.redis_cluster import RedisClusterNodes, SentinelService
from tests.store.store_helpers import TIMEOUT, FakeClock, MakeStore

# Redis as one server, as a 3-primary Cluster and as a Sentinel service: one suite for all.
BACKENDS = ("memory", "sqlite", "redis", "redis-cluster", "redis-sentinel")
REDIS_BACKENDS = ("redis", "redis-cluster", "redis-sentinel")


@pytest.fixture
def clock() -> FakeClock:
    """A fake clock every store of the test reads."""
    return FakeClock()


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    """The backend under test (parametrize indirectly to narrow the list)."""
    name: str = request.param
    return name


@pytest.fixture
async def store_url(
    backend: str, tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> str:
    """A URL of a fresh, empty store of `backend` (Redis deployments are started once per
    session and flushed before each test)."""
    if backend == "memory":
        return "memory://"
    if backend == "sqlite":
        return f"sqlite:///{tmp_path_factory.mktemp('sqlite')}/lastword.db"
    if backend == "redis-cluster":
        cluster: RedisClusterNodes = request.getfixturevalue("redis_cluster")
        cluster.flush()
        return cluster.url
    if backend == "redis-sentinel":
        service: SentinelService = request.getfixturevalue("redis_sentinel")
        service.flush()
        return service.url
    url: str = request.getfixturevalue("redis_url")
    client = Redis.from_url(url)
    try:
        await client.flushdb()
    finally:
        await client.aclose()
    return url


@pytest.fixture
async def make_store(store_url: str, clock: FakeClock) -> AsyncIterator[MakeStore]:
    """Open stores on `store_url` (two calls, two replicas) and close them after the test."""
    opened: list[Store] = []

    async def make(retention: Retention | None = None) -> Store:
        store = await open_store(store_url, retention or Retention(), clock, TIMEOUT)
        opened.append(store)
        return store

    yield make
    for store in opened:
        await store.close()


@pytest.fixture
async def store(make_store: MakeStore) -> Store:
    """A store of the backend under test with default retention."""
    return await make_store()
