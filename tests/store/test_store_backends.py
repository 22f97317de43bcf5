"""Backend-specific guarantees: SQLite durability, Redis TTLs, failures raised as StoreError."""

from __future__ import annotations

import asyncio
import sqlite3
import sys
import time
from contextlib import closing
from pathlib import Path

import orjson
import pytest
from redis.asyncio import Redis

from gateway.store import (
    CrisisMark,
    Ending,
    PathState,
    ResponseLink,
    Retention,
    SQLiteStore,
    StoreError,
    StoreFormatError,
    Strike,
    open_store,
    redis_codec,
)
from gateway.store import redis_keys as keys
from gateway.store.redis import SCHEMA_KEY, RedisStore
from gateway.store.redis import SCHEMA_VERSION as REDIS_SCHEMA
from gateway.store.sqlite_schema import MIGRATIONS, SCHEMA, SCHEMA_VERSION
from tests.store.redis_server import free_port
from tests.store.store_helpers import START, TIMEOUT, FakeClock

T, C = "tenant-a", "conv_main"
PATH = ("fp-0", "fp-1", "fp-2")

CRASH = """
import asyncio, os, sys
from gateway.store import Ending, Strike, open_store

async def main():
    store = await open_store(sys.argv[1])
    at = float(sys.argv[2])
    await store.add_strike(Strike("tenant-a", "conv_main", "fp-1", "violence", "x", at))
    await store.end(Ending("tenant-a", "conv_main", "fp-2", "model", ("violence",), at))
    print("acknowledged", flush=True)
    os._exit(0)  # no close, no checkpoint: only what was committed survives

asyncio.run(main())
"""


async def test_sqlite_ending_survives_a_crash(tmp_path: Path) -> None:
    """An ending acknowledged by a process that then dies without closing is still there."""
    url, at = f"sqlite:///{tmp_path}/lastword.db", time.time()
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-c", CRASH, url, repr(at), stdout=asyncio.subprocess.PIPE
    )
    out, _ = await proc.communicate()
    assert (proc.returncode, out.strip()) == (0, b"acknowledged")

    store = await open_store(url)
    try:
        state = await store.path_state(T, C, PATH)
        assert state.ending == Ending(T, C, "fp-2", "model", ("violence",), at)
        assert len(state.strikes) == 1
    finally:
        await store.close()


async def test_sqlite_state_survives_reopen(tmp_path: Path, clock: FakeClock) -> None:
    """Closing and reopening the file keeps every record, and the schema is versioned."""
    path = tmp_path / "nested" / "dir" / "lastword.db"
    store = await SQLiteStore.open(path, clock=clock)
    await store.add_strike(Strike(T, C, "fp-1", "violence", "x", START, PATH[:2]))
    await store.end(Ending(T, C, "fp-2", "admin", (), START))
    await store.set_alias(T, C, "thread")
    await store.close()
    await store.close()

    again = await SQLiteStore.open(path, clock=clock)
    try:
        state = await again.path_state(T, C, PATH)
        assert len(state.strikes) == 1 and state.ending is not None
        assert await again.resolve(T, "thread") == C
    finally:
        await again.close()
    with closing(sqlite3.connect(path)) as conn:
        assert conn.execute("SELECT version FROM schema_version").fetchall() == [(SCHEMA_VERSION,)]
        assert conn.execute("PRAGMA journal_mode").fetchone() == ("wal",)


@pytest.mark.parametrize("version", [1, 2, 3])
async def test_sqlite_file_from_before_contract_2_is_refused(tmp_path: Path, version: int) -> None:
    """A file whose paths were written with assistant turns in them (schema 1 to 3) is
    refused with a clear StoreError, and left as it was."""
    path = tmp_path / "lastword.db"
    with closing(sqlite3.connect(path)) as conn:
        conn.executescript(SCHEMA)
        conn.execute("INSERT INTO schema_version VALUES (?)", (version,))
        conn.execute(
            "INSERT INTO strikes VALUES (NULL, ?, ?, 'fp-1', 'violence', 'x', ?)", (T, C, START)
        )
        conn.commit()
    with pytest.raises(StoreError, match=f"schema version {version} was written by an older"):
        await SQLiteStore.open(path)
    with closing(sqlite3.connect(path)) as conn:
        assert conn.execute("SELECT version FROM schema_version").fetchall() == [(version,)]
        assert conn.execute("SELECT COUNT(*) FROM strikes").fetchone() == (1,)


async def test_sqlite_file_of_schema_4_is_migrated_its_crisis_marks_confident(
    tmp_path: Path,
) -> None:
    """A schema 4 file (crisis marks without a level) opens: its marks read as `crisis`,
    new marks keep their level, and the file is at this gateway's schema."""
    path = tmp_path / "lastword.db"
    with closing(sqlite3.connect(path)) as conn:
        conn.executescript(SCHEMA)
        for version in (2, 3):
            for statement in MIGRATIONS[version]:
                conn.execute(statement)
        conn.execute("INSERT INTO schema_version VALUES (4)")
        conn.execute(
            "INSERT INTO crisis VALUES (NULL, ?, ?, 'fp-1', 'self_harm', ?)", (T, C, START)
        )
        conn.commit()
    store = await SQLiteStore.open(path, clock=FakeClock())
    try:
        await store.mark_crisis(CrisisMark(T, C, "fp-2", "self_harm", START + 1, "distress"))
        marks = (await store.path_state(T, C, PATH)).crisis
        assert [(m.fingerprint, m.level) for m in marks] == [
            ("fp-1", "crisis"),
            ("fp-2", "distress"),
        ]
    finally:
        await store.close()
    with closing(sqlite3.connect(path)) as conn:
        assert conn.execute("SELECT version FROM schema_version").fetchall() == [(SCHEMA_VERSION,)]


async def test_redis_schema_is_marked_then_checked(redis_url: str) -> None:
    """A new Redis is marked with this gateway's schema; one holding Lastword keys and no
    mark, or another schema, is refused (StoreFormatError); nothing is changed."""
    client = Redis.from_url(redis_url)
    store = RedisStore.from_url(redis_url, timeout=TIMEOUT)
    try:
        await client.flushdb()
        await store.check()
        assert await client.get(SCHEMA_KEY) == str(REDIS_SCHEMA).encode()
        await store.check()  # marked: checks again, quietly
        await client.flushdb()
        await client.set("lastword:conv:t:conv_x:strikes", "old")
        with pytest.raises(StoreFormatError, match="older Lastword"):
            await store.check()
        assert await client.get(SCHEMA_KEY) is None
        await client.set(SCHEMA_KEY, "1")
        with pytest.raises(StoreFormatError, match="schema 1"):
            await store.check()
    finally:
        await client.flushdb()
        await client.aclose()
        await store.close()


async def test_redis_replicas_starting_together_on_a_new_server_both_start(
    redis_url: str,
) -> None:
    """Two gateways checking a new Redis at once: the second reads no mark, then finds the
    first one's keys (its mark, its first records) and starts, rather than taking them for
    an older Lastword's data."""
    client = Redis.from_url(redis_url)
    first = RedisStore.from_url(redis_url, timeout=TIMEOUT)
    second = RedisStore.from_url(redis_url, timeout=TIMEOUT)
    reads = 0
    real_get = second._client.get

    async def read_before_the_mark(key: str) -> object:
        # The fault injected: the second gateway's first read came before the first's mark.
        nonlocal reads
        reads += 1
        return None if reads == 1 else await real_get(key)

    try:
        await client.flushdb()
        await first.check()
        await client.set("lastword:{t:conv_x}:strikes", "new")  # its first record
        second._client.get = read_before_the_mark  # type: ignore[method-assign,assignment]
        await second.check()
        assert reads == 2
        assert await client.get(SCHEMA_KEY) == str(REDIS_SCHEMA).encode()
    finally:
        await client.flushdb()
        await client.aclose()
        await first.close()
        await second.close()


async def test_sqlite_newer_schema_is_refused(tmp_path: Path) -> None:
    """A file from a newer gateway is not opened (nor changed): StoreError names the versions."""
    path = tmp_path / "lastword.db"
    with closing(sqlite3.connect(path)) as conn:
        conn.executescript(SCHEMA)
        conn.execute("INSERT INTO schema_version VALUES (?)", (SCHEMA_VERSION + 1,))
        conn.commit()
    with pytest.raises(StoreError, match=f"schema version {SCHEMA_VERSION + 1} is newer"):
        await SQLiteStore.open(path)
    with closing(sqlite3.connect(path)) as conn:
        found = conn.execute("SELECT version FROM schema_version").fetchall()
        assert found == [(SCHEMA_VERSION + 1,)]
        tables = conn.execute("SELECT name FROM sqlite_master WHERE name = 'responses'")
        assert tables.fetchall() == []


async def test_sqlite_purges_expired_rows_on_write(tmp_path: Path, clock: FakeClock) -> None:
    """A write more than a minute after the last purge deletes rows past their retention."""
    path = tmp_path / "lastword.db"
    retention = Retention(strikes=100, endings=None, crisis=10, responses=100)
    store = await SQLiteStore.open(path, retention, clock)
    try:
        await store.link_response(ResponseLink(T, "resp_1", C, PATH, clock()))
        await store.add_strike(Strike(T, C, "fp-1", "violence", "x", clock(), PATH[:2]))
        await store.mark_crisis(CrisisMark(T, C, "fp-1", "self_harm", clock()))
        await store.end(Ending(T, C, "fp-2", "admin", (), clock()))
        clock.advance(30)
        await store.mark_crisis(CrisisMark(T, C, "fp-1", "self_harm", clock()))
        clock.advance(80)
        await store.set_alias(T, C, "thread")
    finally:
        await store.close()
    with closing(sqlite3.connect(path)) as conn:
        counts = [
            conn.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]
            for table in ("strikes", "crisis", "endings", "aliases", "responses")
        ]
    assert counts == [0, 0, 1, 1, 0]


async def test_sqlite_unwritable_path_raises_store_error(tmp_path: Path) -> None:
    """A database path that cannot be created fails with StoreError, cause chained."""
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    with pytest.raises(StoreError) as caught:
        await open_store(f"sqlite:///{blocker}/lastword.db")
    assert isinstance(caught.value.__cause__, OSError)


async def test_sqlite_closed_store_raises_store_error(tmp_path: Path) -> None:
    """Using a closed SQLite store raises StoreError rather than hanging or crashing."""
    store = await open_store(f"sqlite:///{tmp_path}/lastword.db")
    await store.close()
    with pytest.raises(StoreError):
        await store.path_state(T, C, PATH)


async def test_sqlite_corrupt_file_raises_store_error(tmp_path: Path) -> None:
    """A file that is not a database fails with StoreError chained to sqlite3's error."""
    path = tmp_path / "lastword.db"
    path.write_bytes(b"definitely not sqlite" * 100)
    with pytest.raises(StoreError) as caught:
        await open_store(f"sqlite:///{path}")
    assert isinstance(caught.value.__cause__, sqlite3.DatabaseError)


async def test_redis_unreachable_raises_store_error() -> None:
    """A Redis store on a closed port raises StoreError on ping and on every operation."""
    store = await open_store(f"redis://127.0.0.1:{free_port()}/0")
    try:
        with pytest.raises(StoreError) as caught:
            await store.ping()
        assert caught.value.__cause__ is not None
        with pytest.raises(StoreError):
            await store.path_state(T, C, PATH)
        with pytest.raises(StoreError):
            await store.end(Ending(T, C, "fp-2", "admin", (), START))
        with pytest.raises(StoreError):
            await store.resolve(T, "thread")
    finally:
        await store.close()


async def test_redis_keys_carry_retention_ttls(redis_url: str) -> None:
    """Redis keys expire with their retention; keys of records kept forever have no TTL."""
    client = Redis.from_url(redis_url)
    store = RedisStore.from_url(
        redis_url, Retention(strikes=60, endings=None, crisis=0.2), timeout=TIMEOUT
    )
    try:
        await client.flushdb()
        now = time.time()
        await store.add_strike(Strike(T, C, "fp-1", "violence", "x", now, PATH[:2]))
        await store.end(Ending(T, C, "fp-2", "admin", (), now))
        await store.set_alias(T, C, "thread")
        await store.link_response(ResponseLink(T, "resp_1", C, PATH, now))
        await store.ping()
        base = keys.conversation(T, C)
        assert 0 < await client.pttl(base + "strikes") <= 60_000
        assert 0 < await client.pttl(f"lastword:alias:{T}:thread") <= 60_000
        assert 0 < await client.pttl(f"lastword:response:{T}:resp_1") <= 30 * 86_400_000
        assert await client.pttl(base + "endings") == -1

        await store.mark_crisis(CrisisMark(T, C, "fp-1", "self_harm", now))
        assert await client.exists(base + "crisis") == 1
        await asyncio.sleep(0.3)
        assert await client.exists(base + "crisis") == 0
        assert await store.path_state(T, C, PATH) != PathState()
        assert len(await client.keys("*")) == len(await client.keys("lastword:*")) > 0
    finally:
        await store.close()
        await client.aclose()


async def test_redis_strike_without_a_path_reads_cleanly(redis_url: str) -> None:
    """A strike member written before strikes kept their path reads back with none, and a new
    strike's answer still holds it."""
    client = Redis.from_url(redis_url)
    store = RedisStore.from_url(redis_url, timeout=TIMEOUT)
    try:
        await client.flushdb()
        now = time.time()
        old = {"tenant": T, "conversation_id": C, "fingerprint": "fp-1", "category": "violence"}
        member = orjson.dumps(["0123456789abcdef", {**old, "source": "x", "at": now}])
        await client.zadd(keys.conversation(T, C) + "strikes", {member: now})
        state = await store.add_strike(Strike(T, C, "fp-2", "violence", "x", now + 1, PATH))
        assert state.strikes == (
            Strike(T, C, "fp-1", "violence", "x", now, ()),
            Strike(T, C, "fp-2", "violence", "x", now + 1, PATH),
        )
    finally:
        await store.close()
        await client.aclose()


def test_a_redis_crisis_member_written_before_levels_reads_as_confident() -> None:
    """A crisis member without a level (written before levels existed) reads as `crisis`."""
    old = {"tenant": T, "conversation_id": C, "fingerprint": "fp-1", "category": "c", "at": 1.0}
    mark = redis_codec.crisis(orjson.dumps(["0011", old]))
    assert mark == CrisisMark(T, C, "fp-1", "c", 1.0, "crisis")
    distress = CrisisMark(T, C, "fp-1", "c", 1.0, "distress")
    assert redis_codec.crisis(redis_codec.member(distress).encode()) == distress
