"""Embedded, durable store: one SQLite file in WAL mode, driven from one dedicated thread."""

from __future__ import annotations

import asyncio
import functools
import math
import sqlite3
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path
from typing import Any, TypeVar

from gateway.store import sqlite_reads as reads
from gateway.store import sqlite_schema as sql
from gateway.store.types import (
    DEFAULT_RETENTION,
    Activity,
    ConversationRecord,
    ConversationState,
    CrisisMark,
    Ending,
    PathState,
    ResponseLink,
    Retention,
    StoreError,
    Strike,
    Unlock,
    cutoff,
)

PURGE_EVERY = 60.0
_T = TypeVar("_T")


class SQLiteStore:
    """A `Store` in one SQLite file; open with `await SQLiteStore.open(path)`."""

    def __init__(
        self,
        executor: ThreadPoolExecutor,
        conn: sqlite3.Connection,
        retention: Retention,
        clock: Callable[[], float],
        reader: sqlite3.Connection | None = None,
        *,
        path: Path | None = None,
    ) -> None:
        self.path = path
        self._executor, self._conn = executor, conn
        # Path and link reads run on the event loop's own thread through a reader connection:
        # in WAL mode a read never waits for the writer, and a few indexed selects (tens of
        # microseconds) cost less than a hop to the store's thread and back.
        self._reader = reader
        self._retention, self._clock = retention, clock
        self._purged_at = -math.inf
        self._closed = False

    @classmethod
    async def open(
        cls,
        path: str | Path,
        retention: Retention = DEFAULT_RETENTION,
        clock: Callable[[], float] = time.time,
    ) -> SQLiteStore:
        """Open (creating file, parent folders and schema as needed) the database at `path`.

        A file that cannot be opened, is not SQLite or is damaged raises StoreError naming
        the absolute path and the problem.
        """
        # Absolute (not resolved through links): the path the operator gave, made explicit.
        path = Path(path).absolute()  # noqa: ASYNC240 - reads the working directory only
        executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="lastword-sqlite")
        try:
            conn = await asyncio.get_running_loop().run_in_executor(executor, sql.connect, path)
        except BaseException as exc:
            executor.shutdown(wait=True)
            if isinstance(exc, sqlite3.Error | OSError):
                raise StoreError(f"cannot open SQLite store at {path}: {exc}") from exc
            raise
        try:
            reader = sql.connect_reader(path)
        except sqlite3.Error as exc:
            await asyncio.get_running_loop().run_in_executor(executor, conn.close)
            executor.shutdown(wait=True)
            raise StoreError(f"cannot open SQLite store at {path}: {exc}") from exc
        return cls(executor, conn, retention, clock, reader, path=path)

    async def check(self) -> None:
        """Read every page (SQLite's quick_check); raise StoreError if the file is damaged.

        Opening reads only the schema: damage further in shows at the first read of it.
        """
        try:
            problem = await self._run(sql.quick_check, self._conn)
        except StoreError as exc:
            problem = str(exc.__cause__ or exc)
        if problem is not None:
            raise StoreError(f"SQLite store at {self.path} is damaged: {problem}")

    async def path_state(
        self, tenant: str, conversation_id: str, fingerprints: Sequence[str]
    ) -> PathState:
        """Standing strikes, crisis marks and first standing ending on the path, read inline."""
        return await self._read_inline(reads.path_state, tenant, conversation_id, fingerprints)

    async def add_strike(self, strike: Strike) -> ConversationState:
        """Record `strike` and read its conversation back in one immediate write transaction
        (serialised with every other writer, other processes' included)."""

        def write(conn: sqlite3.Connection) -> ConversationState:
            conn.execute(sql.INSERT[Strike], sql.row(strike))
            floors = self._retention.floors(self._clock())
            return reads.conversation_state(conn, strike.tenant, strike.conversation_id, floors)

        return await self._run(self._write, write)

    async def mark_crisis(self, mark: CrisisMark) -> None:
        """Record a crisis signal on the mark's fingerprint."""
        await self._run(
            self._write, lambda conn: conn.execute(sql.INSERT[CrisisMark], sql.row(mark))
        )

    async def end(self, ending: Ending) -> Ending:
        """End at the fingerprint, or return the ending standing there; committed and synced."""

        def write(conn: sqlite3.Connection) -> Ending:
            row = conn.execute(
                sql.STANDING_ENDING,
                {
                    "t": ending.tenant,
                    "c": ending.conversation_id,
                    "f": ending.fingerprint,
                    "endings": cutoff(self._retention.endings, self._clock()),
                },
            ).fetchone()
            if row is not None:
                return sql.ending(row)
            conn.execute(sql.INSERT[Ending], sql.row(ending))
            return ending

        return await self._run(self._write, write)

    async def unlock(self, unlock: Unlock) -> Unlock:
        """Lift the conversation's standing endings, forgive its strikes so far, audit it."""

        def write(conn: sqlite3.Connection) -> Unlock:
            lifted = conn.execute(
                sql.LIFT,
                {
                    "at": unlock.at,
                    "t": unlock.tenant,
                    "c": unlock.conversation_id,
                    "endings": cutoff(self._retention.endings, self._clock()),
                },
            ).rowcount
            recorded = replace(unlock, lifted=lifted)
            conn.execute(sql.INSERT[Unlock], sql.row(recorded))
            return recorded

        return await self._run(self._write, write)

    async def set_alias(self, tenant: str, conversation_id: str, alias: str) -> None:
        """Name a conversation; REPLACE drops the alias's and the conversation's old pairings."""
        row = (tenant, conversation_id, alias, self._clock())
        await self._run(
            self._write,
            lambda conn: conn.execute("INSERT OR REPLACE INTO aliases VALUES (?, ?, ?, ?)", row),
        )

    async def resolve(self, tenant: str, id_or_alias: str) -> str | None:
        """The conversation id for a recorded `conv_` id or an alias, else None."""

        def read() -> str | None:
            conn, floors = self._conn, self._retention.floors(self._clock())
            if id_or_alias.startswith("conv_") and reads.conversation(
                conn, tenant, id_or_alias, floors
            ):
                return id_or_alias
            row = conn.execute(sql.ALIASED, (tenant, id_or_alias, floors["aliases"])).fetchone()
            return None if row is None else str(row[0])

        return await self._run(read)

    async def conversation(self, tenant: str, conversation_id: str) -> ConversationRecord | None:
        """Everything retained for a conversation, or None if nothing is."""
        floors = self._retention.floors(self._clock())
        return await self._run(reads.conversation, self._conn, tenant, conversation_id, floors)

    async def endings(
        self, tenant: str | None, limit: int, before: float | None = None
    ) -> list[Ending]:
        """Endings newest first, lifted ones included, `at` strictly below `before`."""
        query = sql.ENDINGS_ALL if tenant is None else sql.ENDINGS_TENANT
        params = {
            "t": tenant,
            "endings": cutoff(self._retention.endings, self._clock()),
            "b": math.inf if before is None else before,
            "n": max(limit, 0),
        }
        return await self._run(lambda: [sql.ending(r) for r in self._conn.execute(query, params)])

    async def activity(self, tenant: str, edges: Sequence[float]) -> Activity:
        """The tenant's endings and crisis turns counted between consecutive `edges`."""
        floors = self._retention.floors(self._clock())
        return await self._run(reads.activity, self._conn, tenant, tuple(edges), floors)

    async def link_response(self, link: ResponseLink) -> None:
        """Remember where a relayed response left its conversation; the same id replaces it."""
        await self._run(self._write, lambda conn: conn.execute(sql.LINK, sql.link_row(link)))

    async def linked_response(self, tenant: str, response_id: str) -> ResponseLink | None:
        """The tenant's retained link for `response_id`, or None; one select, read inline."""
        return await self._read_inline(reads.response_link, tenant, response_id)

    async def ping(self) -> None:
        """Return when the database answers a query."""
        await self._run(lambda: self._conn.execute("SELECT 1").fetchone())

    async def close(self) -> None:
        """Close the connection and stop the thread (a second call does nothing)."""
        if self._closed:
            return
        try:
            await self._run(self._conn.close)
        finally:
            self._closed = True
            self._executor.shutdown(wait=True)
            if self._reader is not None:
                self._reader.close()

    async def _read_inline(self, fn: Callable[..., _T], *args: Any) -> _T:
        """Run the read `fn(conn, *args, floors)` on the reader connection, here and now."""
        if self._closed:
            raise StoreError("SQLite store is closed")
        floors = self._retention.floors(self._clock())
        if self._reader is None:
            return await self._run(fn, self._conn, *args, floors)
        try:
            return fn(self._reader, *args, floors)
        except sqlite3.Error as exc:
            raise StoreError(f"SQLite store failed: {exc}") from exc

    async def _run(self, fn: Callable[..., _T], *args: Any) -> _T:
        """Run `fn` on the store's thread, turning backend failures into StoreError."""
        if self._closed:
            raise StoreError("SQLite store is closed")
        try:
            return await asyncio.get_running_loop().run_in_executor(
                self._executor, functools.partial(fn, *args)
            )
        except (sqlite3.Error, OSError) as exc:
            raise StoreError(f"SQLite store failed: {exc}") from exc

    def _write(self, fn: Callable[[sqlite3.Connection], _T]) -> _T:
        """Run `fn` in an immediate write transaction (serialised across processes too)."""
        conn = self._conn
        conn.execute("BEGIN IMMEDIATE")
        try:
            now = self._clock()
            if now - self._purged_at >= PURGE_EVERY:
                self._purged_at = now
                self._purge(now)
            result = fn(conn)
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        return result

    def _purge(self, now: float) -> None:
        for table, statement in sql.PURGE.items():
            ttl: float | None = getattr(self._retention, table)
            if ttl is not None:
                self._conn.execute(statement, (now - ttl,))
