"""Fixtures running one behaviour suite against every store backend."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis

from gateway.store import Retention, Store, open_store
from tests.store.store_helpers import FakeClock, MakeStore

BACKENDS = ("memory", "sqlite", "redis")


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
    """A URL of a fresh, empty store of `backend` (Redis is flushed before the test)."""
    if backend == "memory":
        return "memory://"
    if backend == "sqlite":
        return f"sqlite:///{tmp_path_factory.mktemp('sqlite')}/lastword.db"
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
        store = await open_store(store_url, retention or Retention(), clock)
        opened.append(store)
        return store

    yield make
    for store in opened:
        await store.close()


@pytest.fixture
async def store(make_store: MakeStore) -> Store:
    """A store of the backend under test with default retention."""
    return await make_store()
