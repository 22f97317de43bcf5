"""The SQLite store's reads, on whichever connection runs them: the writer's or the reader's.

`floors` is `Retention.floors(now)`: per kind of record, the `at` at or below which it expired.
"""

from __future__ import annotations

import itertools
import sqlite3
from collections.abc import Sequence

from gateway.store import sqlite_schema as sql
from gateway.store.types import (
    Activity,
    ConversationRecord,
    ConversationState,
    CrisisMark,
    PathState,
    ResponseLink,
    Unlock,
)


def path_state(
    conn: sqlite3.Connection,
    tenant: str,
    conversation_id: str,
    path: Sequence[str],
    floors: dict[str, float],
) -> PathState:
    """Standing strikes, crisis marks and first standing ending on `path`."""
    return conversation_state(conn, tenant, conversation_id, floors).on(path)


def conversation_state(
    conn: sqlite3.Connection, tenant: str, conversation_id: str, floors: dict[str, float]
) -> ConversationState:
    """The conversation's unforgiven strikes, standing endings and crisis marks."""
    params = {"t": tenant, "c": conversation_id, **floors}
    strikes = conn.execute(sql.STATE_STRIKES, params).fetchall()
    endings = conn.execute(sql.STATE_ENDINGS, params).fetchall()
    crisis = conn.execute(sql.STATE_CRISIS, params).fetchall()
    return ConversationState(
        strikes=tuple(map(sql.strike, strikes)),
        endings=tuple(map(sql.ending, endings)),
        crisis=tuple(CrisisMark(*row) for row in crisis),
    )


def conversation(
    conn: sqlite3.Connection, tenant: str, conversation_id: str, floors: dict[str, float]
) -> ConversationRecord | None:
    """Everything retained for a conversation, or None if nothing is."""
    params = {"t": tenant, "c": conversation_id, **floors}
    strikes, endings, crisis, unlocks = (
        conn.execute(sql.CONVERSATION[table], params).fetchall()
        for table in ("strikes", "endings", "crisis", "unlocks")
    )
    alias = conn.execute(sql.ALIAS_OF, params).fetchall()
    if not (strikes or endings or crisis or unlocks or alias):
        return None
    return ConversationRecord(
        tenant=tenant,
        conversation_id=conversation_id,
        alias=str(alias[0][0]) if alias else None,
        strikes=tuple(map(sql.strike, strikes)),
        endings=tuple(sql.ending(row) for row in endings),
        unlocks=tuple(Unlock(*row) for row in unlocks),
        crisis=tuple(CrisisMark(*row) for row in crisis),
    )


def response_link(
    conn: sqlite3.Connection, tenant: str, response_id: str, floors: dict[str, float]
) -> ResponseLink | None:
    """The tenant's retained link for `response_id`, or None."""
    row = conn.execute(sql.LINKED, (tenant, response_id, floors["responses"])).fetchone()
    return None if row is None else sql.link(row)


def activity(
    conn: sqlite3.Connection, tenant: str, edges: Sequence[float], floors: dict[str, float]
) -> Activity:
    """The tenant's endings and crisis turns counted between consecutive `edges`."""
    endings, crisis = [], []
    for lo, hi in itertools.pairwise(edges):
        params = {"t": tenant, "lo": lo, "hi": hi, **floors}
        endings.append(int(conn.execute(sql.COUNT_ENDINGS, params).fetchone()[0]))
        crisis.append(int(conn.execute(sql.COUNT_CRISIS, params).fetchone()[0]))
    return Activity(tuple(edges), tuple(endings), tuple(crisis))
