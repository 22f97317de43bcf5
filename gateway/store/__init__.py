"""Conversation state behind one `Store` Protocol: strikes, endings, crisis, unlocks, links."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit

from gateway.store.memory import MemoryStore
from gateway.store.redis import RedisStore
from gateway.store.redis_connect import CLUSTER_FORM, SENTINEL_FORM
from gateway.store.redis_connect import SCHEMES as REDIS_SCHEMES
from gateway.store.sqlite import SQLiteStore
from gateway.store.types import (
    DEFAULT_RETENTION,
    WHOLE_CONVERSATION,
    Activity,
    ConversationRecord,
    ConversationState,
    CrisisMark,
    Ending,
    PathState,
    ResponseLink,
    Retention,
    Store,
    StoreError,
    StoreFormatError,
    Strike,
    Unlock,
)

__all__ = [
    "WHOLE_CONVERSATION",
    "Activity",
    "ConversationRecord",
    "ConversationState",
    "CrisisMark",
    "Ending",
    "MemoryStore",
    "PathState",
    "RedisStore",
    "ResponseLink",
    "Retention",
    "SQLiteStore",
    "Store",
    "StoreError",
    "StoreFormatError",
    "Strike",
    "Unlock",
    "open_store",
]

SCHEMES = (
    "memory://, sqlite:///relative.db, sqlite:////absolute.db, redis://, rediss://, unix://,"
    f" {CLUSTER_FORM}, {SENTINEL_FORM} (rediss+ for TLS)"
)


async def open_store(
    url: str,
    retention: Retention = DEFAULT_RETENTION,
    clock: Callable[[], float] = time.time,
    redis_timeout: float = 1.0,
) -> Store:
    """Open the store named by `url`; raise ValueError for a URL no backend accepts.

    SQLite opens (and creates) its file now, raising StoreError if it cannot; Redis (one
    server, a Cluster or a Sentinel service) connects on first use, so a gateway can start
    while Redis is down; `redis_timeout` bounds each of its connects and replies.
    """
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme == "memory":
        if parts.netloc or parts.path or parts.query:
            raise ValueError(f"memory store URL takes no location: {url!r} (use memory://)")
        return MemoryStore(retention, clock)
    if scheme == "sqlite":
        if parts.netloc or parts.query or parts.fragment or parts.path in ("", "/"):
            raise ValueError(
                f"bad SQLite store URL {url!r}: use sqlite:///relative/path.db"
                " or sqlite:////absolute/path.db"
            )
        return await SQLiteStore.open(Path(parts.path[1:]), retention, clock)
    if scheme in REDIS_SCHEMES:
        return RedisStore.from_url(url, retention, clock, redis_timeout)
    raise ValueError(f"unsupported store URL {url!r}: accepted schemes are {SCHEMES}")
