"""The SQLite store's schema, statements (fixed text, so plans are cached) and row mapping."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Sequence
from dataclasses import fields
from pathlib import Path
from typing import Any, Final

import orjson

from gateway.store.types import CrisisMark, Ending, ResponseLink, Strike, Unlock

# SCHEMA is version 1 and stays so: every later change is a migration, run by every file on
# the way up, new ones included, so a migrated file and a fresh one cannot differ.
SCHEMA = """
CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS strikes (
    id INTEGER PRIMARY KEY, tenant TEXT NOT NULL, conversation_id TEXT NOT NULL,
    fingerprint TEXT NOT NULL, category TEXT NOT NULL, source TEXT NOT NULL, at REAL NOT NULL);
CREATE INDEX IF NOT EXISTS strikes_path ON strikes (tenant, conversation_id, fingerprint);
CREATE INDEX IF NOT EXISTS strikes_at ON strikes (at);
CREATE TABLE IF NOT EXISTS endings (
    id INTEGER PRIMARY KEY, tenant TEXT NOT NULL, conversation_id TEXT NOT NULL,
    fingerprint TEXT NOT NULL, reason TEXT NOT NULL, categories TEXT NOT NULL,
    at REAL NOT NULL, lifted_at REAL);
CREATE INDEX IF NOT EXISTS endings_path ON endings (tenant, conversation_id, fingerprint);
CREATE INDEX IF NOT EXISTS endings_at ON endings (at);
CREATE INDEX IF NOT EXISTS endings_tenant_at ON endings (tenant, at);
CREATE TABLE IF NOT EXISTS crisis (
    id INTEGER PRIMARY KEY, tenant TEXT NOT NULL, conversation_id TEXT NOT NULL,
    fingerprint TEXT NOT NULL, category TEXT NOT NULL, at REAL NOT NULL);
CREATE INDEX IF NOT EXISTS crisis_path ON crisis (tenant, conversation_id, fingerprint);
CREATE INDEX IF NOT EXISTS crisis_at ON crisis (at);
CREATE TABLE IF NOT EXISTS unlocks (
    id INTEGER PRIMARY KEY, tenant TEXT NOT NULL, conversation_id TEXT NOT NULL,
    actor TEXT NOT NULL, note TEXT NOT NULL, at REAL NOT NULL, lifted INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS unlocks_conv ON unlocks (tenant, conversation_id, at);
CREATE TABLE IF NOT EXISTS aliases (
    tenant TEXT NOT NULL, conversation_id TEXT NOT NULL, alias TEXT NOT NULL, at REAL NOT NULL,
    PRIMARY KEY (tenant, conversation_id), UNIQUE (tenant, alias));
"""
MIGRATIONS: dict[int, tuple[str, ...]] = {
    2: (
        """CREATE TABLE IF NOT EXISTS responses (
            tenant TEXT NOT NULL, response_id TEXT NOT NULL, conversation_id TEXT NOT NULL,
            path TEXT NOT NULL, at REAL NOT NULL, PRIMARY KEY (tenant, response_id))""",
        "CREATE INDEX IF NOT EXISTS responses_at ON responses (at)",
    ),
    # Each strike keeps the points its own is reached through (a JSON array), so a strike on
    # a shallower point finds the deeper paths it completes. Older rows read as no path.
    3: ("ALTER TABLE strikes ADD COLUMN path TEXT NOT NULL DEFAULT '[]'",),
    # Paths changed meaning (assistant turns leave no mark; the end user is part of the
    # identity): no statement, but a file written before holds paths no request reaches.
    4: (),
    # A crisis mark has a level: `crisis` (confident) or `distress` (recall-first, it only
    # holds endings off). Marks written before were all confident.
    5: ("ALTER TABLE crisis ADD COLUMN level TEXT NOT NULL DEFAULT 'crisis'",),
}
SCHEMA_VERSION = max(MIGRATIONS)
# The oldest schema whose paths this gateway reads: an older file is refused, not migrated
# (nothing was released with it).
OLDEST_READABLE = 4

COLUMNS = {
    "strikes": "tenant, conversation_id, fingerprint, category, source, at, path",
    "endings": "tenant, conversation_id, fingerprint, reason, categories, at, lifted_at",
    "crisis": "tenant, conversation_id, fingerprint, category, at, level",
    "unlocks": "tenant, conversation_id, actor, note, at, lifted",
}
# A conversation holds few records, so path reads fetch its standing ones through the
# (tenant, conversation_id) index prefix and keep the path's fingerprints in Python: cheaper
# than matching a 200-fingerprint list in SQL, and one fixed statement whatever the path.
STATE_STRIKES = """
SELECT tenant, conversation_id, fingerprint, category, source, at, path FROM strikes
WHERE tenant = :t AND conversation_id = :c AND at > :strikes AND at > COALESCE((
    SELECT MAX(at) FROM unlocks
    WHERE tenant = :t AND conversation_id = :c AND at > :unlocks
  ), :strikes)
ORDER BY at, id"""
STATE_ENDINGS = """
SELECT tenant, conversation_id, fingerprint, reason, categories, at, lifted_at FROM endings
WHERE tenant = :t AND conversation_id = :c AND lifted_at IS NULL AND at > :endings"""
STATE_CRISIS = """
SELECT tenant, conversation_id, fingerprint, category, at, level FROM crisis
WHERE tenant = :t AND conversation_id = :c AND at > :crisis
ORDER BY at, id"""
STANDING_ENDING = """
SELECT tenant, conversation_id, fingerprint, reason, categories, at, lifted_at FROM endings
WHERE tenant = :t AND conversation_id = :c AND fingerprint = :f AND lifted_at IS NULL
  AND at > :endings
ORDER BY at LIMIT 1"""
LIFT = """
UPDATE endings SET lifted_at = :at
WHERE tenant = :t AND conversation_id = :c AND lifted_at IS NULL AND at > :endings"""
CONVERSATION = {
    table: f"SELECT {columns} FROM {table}"  # noqa: S608 (fixed identifiers only)
    f" WHERE tenant = :t AND conversation_id = :c AND at > :{table} ORDER BY at, id"
    for table, columns in COLUMNS.items()
}
ALIAS_OF = "SELECT alias FROM aliases WHERE tenant = :t AND conversation_id = :c AND at > :aliases"
ALIASED = "SELECT conversation_id FROM aliases WHERE tenant = ? AND alias = ? AND at > ?"
ENDINGS_ALL = """
SELECT tenant, conversation_id, fingerprint, reason, categories, at, lifted_at FROM endings
WHERE at > :endings AND at < :b ORDER BY at DESC, id DESC LIMIT :n"""
ENDINGS_TENANT = """
SELECT tenant, conversation_id, fingerprint, reason, categories, at, lifted_at FROM endings
WHERE tenant = :t AND at > :endings AND at < :b ORDER BY at DESC, id DESC LIMIT :n"""
# Per interval [:lo, :hi): endings (lifted included) and crisis turns (a turn's confident
# marks, one per category, share conversation, fingerprint and time), both above retention.
COUNT_ENDINGS = """
SELECT COUNT(*) FROM endings
WHERE tenant = :t AND at >= :lo AND at < :hi AND at > :endings"""
COUNT_CRISIS = """
SELECT COUNT(*) FROM (SELECT DISTINCT conversation_id, fingerprint, at FROM crisis
WHERE tenant = :t AND level = 'crisis' AND at >= :lo AND at < :hi AND at > :crisis)"""
INSERT = {
    Strike: "INSERT INTO strikes VALUES (NULL, ?, ?, ?, ?, ?, ?, ?)",
    Ending: "INSERT INTO endings VALUES (NULL, ?, ?, ?, ?, ?, ?, ?)",
    CrisisMark: "INSERT INTO crisis VALUES (NULL, ?, ?, ?, ?, ?, ?)",
    Unlock: "INSERT INTO unlocks VALUES (NULL, ?, ?, ?, ?, ?, ?)",
}
LINK = "INSERT OR REPLACE INTO responses VALUES (?, ?, ?, ?, ?)"
LINKED = """
SELECT tenant, response_id, conversation_id, path, at FROM responses
WHERE tenant = ? AND response_id = ? AND at > ?"""
PURGE = {
    table: f"DELETE FROM {table} WHERE at <= ?"  # noqa: S608 (fixed identifiers only)
    for table in (*COLUMNS, "aliases", "responses")
}


# Processes opening one new file at once (`--workers 2`, replicas on one volume) can find
# it locked without SQLite's busy handler waiting: turning on WAL and creating the schema
# take locks that SQLite refuses at once where waiting could deadlock. Opening is retried.
OPEN_PATIENCE: Final = 10.0
_RETRY_EVERY: Final = 0.05


def connect(path: Path) -> sqlite3.Connection:
    """Open the database on the store's thread: WAL, fsync on every commit, schema migrated;
    a file another process holds locked meanwhile is tried again, for `OPEN_PATIENCE`
    seconds."""
    path.parent.mkdir(parents=True, exist_ok=True)
    deadline = time.monotonic() + OPEN_PATIENCE
    while True:
        try:
            return _connect(path)
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() >= deadline:
                raise
        time.sleep(_RETRY_EVERY)


def _connect(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(path, isolation_level=None, timeout=5.0)
    try:
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = FULL")
        conn.executescript(SCHEMA)
        migrate(conn)
    except BaseException:
        conn.close()
        raise
    return conn


def migrate(conn: sqlite3.Connection) -> None:
    """Bring the schema up to SCHEMA_VERSION in one transaction (replicas opening at once wait)."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        found = conn.execute("SELECT MAX(version) FROM schema_version").fetchone()[0]
        if found is not None and not isinstance(found, int):
            raise sqlite3.DatabaseError(f"schema version {found!r} is not a number")
        if found is not None and found > SCHEMA_VERSION:
            raise sqlite3.DatabaseError(
                f"schema version {found} is newer than this gateway's {SCHEMA_VERSION}"
            )
        if found is not None and found < OLDEST_READABLE:
            raise sqlite3.DatabaseError(
                f"schema version {found} was written by an older Lastword whose conversation"
                f" paths this one (schema {SCHEMA_VERSION}) cannot read: start with a new"
                " database file"
            )
        for version in range((found or 1) + 1, SCHEMA_VERSION + 1):
            for statement in MIGRATIONS[version]:
                conn.execute(statement)
        if found is None:
            conn.execute("INSERT INTO schema_version VALUES (?)", (SCHEMA_VERSION,))
        elif found < SCHEMA_VERSION:
            conn.execute("UPDATE schema_version SET version = ?", (SCHEMA_VERSION,))
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise


def quick_check(conn: sqlite3.Connection) -> str | None:
    """SQLite's first complaint about the file's pages and indexes, or None if it is sound."""
    first = conn.execute("PRAGMA quick_check(1)").fetchone()
    verdict = "" if first is None else str(first[0])
    if verdict == "ok":
        return None
    # One line: drop the "*** in database main ***" heading SQLite puts before the finding.
    finding = " ".join(verdict.replace("*** in database main ***", "").split())
    return finding or "quick_check gave no verdict"


def connect_reader(path: Path) -> sqlite3.Connection:
    """A connection for path and link reads on the event loop's thread; the writer migrated."""
    conn = sqlite3.connect(path, isolation_level=None, timeout=1.0)
    conn.execute("PRAGMA query_only = ON")
    return conn


_JSON_COLUMNS = frozenset({"categories", "path"})


def row(record: Strike | Ending | CrisisMark | Unlock) -> tuple[Any, ...]:
    """The record's columns in table order (categories and paths as JSON arrays)."""
    return tuple(
        orjson.dumps(value).decode() if f.name in _JSON_COLUMNS else value
        for f in fields(record)
        for value in (getattr(record, f.name),)
    )


def strike(values: Sequence[Any]) -> Strike:
    """The Strike stored in a `strikes` row."""
    tenant, conversation_id, fingerprint, category, source, at, path = values
    return Strike(
        tenant, conversation_id, fingerprint, category, source, at, tuple(orjson.loads(path))
    )


def link_row(link: ResponseLink) -> tuple[Any, ...]:
    """The link's columns in table order (the path as a JSON array)."""
    path = orjson.dumps(link.path).decode()
    return (link.tenant, link.response_id, link.conversation_id, path, link.at)


def link(values: Sequence[Any]) -> ResponseLink:
    """The ResponseLink stored in a `responses` row."""
    tenant, response_id, conversation_id, path, at = values
    return ResponseLink(tenant, response_id, conversation_id, tuple(orjson.loads(path)), at)


def ending(values: Sequence[Any]) -> Ending:
    """The Ending stored in an `endings` row."""
    tenant, conversation_id, fingerprint, reason, categories, at, lifted_at = values
    return Ending(
        tenant, conversation_id, fingerprint, reason, tuple(orjson.loads(categories)), at, lifted_at
    )
