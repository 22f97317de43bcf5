"""`open_store` picks the backend from the URL and refuses anything else clearly."""

from __future__ import annotations

import multiprocessing
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from gateway.store import MemoryStore, RedisStore, SQLiteStore, open_store, sqlite_schema


async def test_memory_url_opens_a_memory_store() -> None:
    """memory:// is an in-process store."""
    store = await open_store("memory://")
    assert isinstance(store, MemoryStore)
    await store.close()


async def test_sqlite_relative_url_is_under_the_working_dir(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """sqlite:///data/lastword.db is relative to the working directory; folders are created."""
    monkeypatch.chdir(tmp_path)
    store = await open_store("sqlite:///data/lastword.db")
    try:
        assert isinstance(store, SQLiteStore)
        assert (tmp_path / "data" / "lastword.db").is_file()
    finally:
        await store.close()


async def test_sqlite_absolute_url(tmp_path: Path) -> None:
    """sqlite:////abs/path.db (four slashes) names an absolute path."""
    path = tmp_path / "deep" / "lastword.db"
    store = await open_store(f"sqlite:///{path}")
    try:
        assert isinstance(store, SQLiteStore)
        assert path.is_file()
    finally:
        await store.close()


@pytest.mark.parametrize(
    "url",
    [
        "redis://127.0.0.1:6379/0",
        "redis://:secret@redis.internal:6380/2",
        "rediss://redis.example.com:6380/0",
        "unix:///var/run/redis/redis.sock?db=1",
    ],
)
async def test_redis_urls_open_lazily(url: str) -> None:
    """Redis URLs give a Redis store without connecting until first use."""
    store = await open_store(url)
    assert isinstance(store, RedisStore)
    await store.close()


@pytest.mark.parametrize(
    ("url", "cluster"),
    [
        ("redis+cluster://127.0.0.1:7000", True),
        ("redis+cluster://:secret@r1:7000,r2,[::1]:7002/0", True),
        ("rediss+cluster://r1.example.com:7000", True),
        ("REDIS+CLUSTER://r1:7000", True),
        ("redis+sentinel://127.0.0.1:26379/lastword", False),
        ("redis+sentinel://u:p@s1,s2:26380,[::1]/lastword/3", False),
        ("rediss+sentinel://s1.example.com/lastword", False),
    ],
)
async def test_cluster_and_sentinel_urls_open_lazily(url: str, cluster: bool) -> None:
    """Cluster and Sentinel URLs give a Redis store (spanning primaries for a cluster) that
    connects nowhere until first use."""
    store = await open_store(url)
    assert isinstance(store, RedisStore)
    assert store.cluster is cluster
    await store.close()


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("postgres://db/lastword", "accepted schemes are memory://"),
        ("lastword.db", "accepted schemes"),
        ("", "accepted schemes"),
        ("http://localhost:6379", "accepted schemes"),
        ("sqlite://", "bad SQLite store URL"),
        ("sqlite:///", "bad SQLite store URL"),
        ("sqlite://host/lastword.db", "bad SQLite store URL"),
        ("sqlite:///lastword.db?mode=ro", "bad SQLite store URL"),
        ("memory://somewhere", "memory store URL takes no location"),
        ("redis://localhost:notaport/0", "Port"),
        ("redis+cluster://", "host ''"),
        ("redis+cluster://r1:7000,,r2:7000", "host ''"),
        ("redis+cluster://r1:99999", "host 'r1:99999'"),
        ("redis+cluster://r1:7000/1", "database 0 only"),
        ("redis+cluster://r1:7000?ssl=true", "no query"),
        ("redis+sentinel://s1:26379", "use redis\\+sentinel://host:port"),
        ("redis+sentinel://s1:26379/main/zero", "use redis\\+sentinel://host:port"),
        ("redis+sentinel://s1/main/0/extra", "use redis\\+sentinel://host:port"),
        ("redis+sentinel://:secret@s1", "^bad Redis Sentinel URL: use"),
    ],
)
async def test_bad_urls_raise_value_error(url: str, message: str) -> None:
    """Unknown schemes and malformed URLs raise ValueError naming what is accepted."""
    with pytest.raises(ValueError, match=message):
        await open_store(url)


def _open_when_all_are_ready(path: str, ready: Any, results: Any) -> None:
    ready.wait()
    try:
        sqlite_schema.connect(Path(path)).close()
        results.put("opened")
    except sqlite3.Error as exc:
        results.put(f"{type(exc).__name__}: {exc}")


def test_processes_opening_one_new_file_at_once_all_open_it(tmp_path: Path) -> None:
    """Workers starting together on one new SQLite file all open it: SQLite refuses some of
    them a lock at once (turning on WAL, creating the schema), and opening tries again."""
    context = multiprocessing.get_context("fork")
    for trial in range(25):
        path = tmp_path / f"shared-{trial}.db"
        ready, results = context.Barrier(6), context.Queue()
        workers = [
            context.Process(target=_open_when_all_are_ready, args=(str(path), ready, results))
            for _ in range(6)
        ]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join(timeout=60)
        assert [results.get(timeout=5) for _ in workers] == ["opened"] * 6
