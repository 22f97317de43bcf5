"""The `Store` Protocol every backend implements, its errors and retention.

The records it keeps live in `gateway.records` (the policy reads them too); they are
imported here for the backends' convenience.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from gateway.records import (
    WHOLE_CONVERSATION,
    Activity,
    ConversationRecord,
    ConversationState,
    CrisisMark,
    Ending,
    PathState,
    ResponseLink,
    Strike,
    Unlock,
    first_ending,
)

__all__ = [
    "DAY",
    "DEFAULT_RETENTION",
    "WHOLE_CONVERSATION",
    "Activity",
    "ConversationRecord",
    "ConversationState",
    "CrisisMark",
    "Ending",
    "PathState",
    "ResponseLink",
    "Retention",
    "Store",
    "StoreError",
    "StoreFormatError",
    "Strike",
    "Unlock",
    "bucketed",
    "cutoff",
    "first_ending",
]

DAY = 86_400.0


class StoreError(Exception):
    """A backend failure (I/O, timeout, unreachable server); the cause is chained."""


class StoreFormatError(StoreError):
    """The store holds data in a format this gateway does not read (an older or newer
    schema): refused at start, never served from."""


@dataclass(frozen=True, slots=True)
class Retention:
    """How long records are kept, in seconds (None = forever).

    Unlocks live as long as the longer of strikes and endings (they forgive the one and audit
    the other); an alias lives as long as strikes, counted from its last `set_alias`; a
    response link lives `responses` seconds from its `at`.
    """

    strikes: float | None = 30 * DAY
    endings: float | None = None
    crisis: float | None = DAY
    responses: float | None = 30 * DAY

    @property
    def unlocks(self) -> float | None:
        """Retention of unlock records: the longer of strikes and endings."""
        if self.strikes is None or self.endings is None:
            return None
        return max(self.strikes, self.endings)

    @property
    def aliases(self) -> float | None:
        """Retention of an alias after it was last set."""
        return self.strikes

    def floors(self, now: float) -> dict[str, float]:
        """Per kind of record, the `at` at or below which it has expired (-inf: never)."""
        kinds = ("strikes", "endings", "crisis", "unlocks", "aliases", "responses")
        return {kind: cutoff(getattr(self, kind), now) for kind in kinds}


DEFAULT_RETENTION = Retention()


def cutoff(ttl: float | None, now: float) -> float:
    """The `at` at or below which a record kept for `ttl` seconds has expired."""
    return -math.inf if ttl is None else now - ttl


@runtime_checkable
class Store(Protocol):
    """Conversation state shared by the gateway's workers, tenant-scoped throughout.

    Reads ignore records past their retention. Path reads consider the records of
    (tenant, conversation_id) whose fingerprint is in the path; fingerprints already embed
    the tenant and the conversation root, so this is the same as a lookup by fingerprint.
    """

    async def path_state(
        self, tenant: str, conversation_id: str, fingerprints: Sequence[str]
    ) -> PathState:
        """Standing strikes, crisis marks and first standing ending on the path, one round trip."""
        ...

    async def add_strike(self, strike: Strike) -> ConversationState:
        """Record `strike` and return its conversation's state right after it, atomically.

        Writers are serialised (across processes and replicas too): each one's answer holds
        every strike written before it, so the last writer of several concurrent strikes
        sees them all, whichever paths they were recorded on.
        """
        ...

    async def mark_crisis(self, mark: CrisisMark) -> None:
        """Record a crisis signal on the mark's fingerprint."""
        ...

    async def end(self, ending: Ending) -> Ending:
        """Durably end at the fingerprint, or return the ending already standing there."""
        ...

    async def unlock(self, unlock: Unlock) -> Unlock:
        """Lift the conversation's standing endings, forgive its strikes so far, audit it."""
        ...

    async def set_alias(self, tenant: str, conversation_id: str, alias: str) -> None:
        """Name a conversation with a client-chosen alias (one alias per conversation)."""
        ...

    async def resolve(self, tenant: str, id_or_alias: str) -> str | None:
        """The conversation id for a recorded `conv_` id or an alias, else None."""
        ...

    async def conversation(self, tenant: str, conversation_id: str) -> ConversationRecord | None:
        """Everything retained for a conversation, or None if nothing is."""
        ...

    async def endings(
        self, tenant: str | None, limit: int, before: float | None = None
    ) -> list[Ending]:
        """Endings newest first, lifted ones included, `at` strictly below `before`."""
        ...

    async def activity(self, tenant: str, edges: Sequence[float]) -> Activity:
        """The tenant's endings and crisis turns counted between consecutive `edges`
        (ascending), within retention; one round trip."""
        ...

    async def link_response(self, link: ResponseLink) -> None:
        """Remember where a relayed response left its conversation; the same id replaces it."""
        ...

    async def linked_response(self, tenant: str, response_id: str) -> ResponseLink | None:
        """The tenant's retained link for `response_id`, or None; one round trip."""
        ...

    async def ping(self) -> None:
        """Return when the backend answers; raise StoreError otherwise."""
        ...

    async def close(self) -> None:
        """Release connections, threads and files."""
        ...


def bucketed(times: Iterable[float], edges: Sequence[float]) -> tuple[int, ...]:
    """How many of `times` fall in each interval `edges[i] <= at < edges[i + 1]`."""
    counts = [0] * max(len(edges) - 1, 0)
    for at in times:
        i = bisect.bisect_right(edges, at) - 1
        if 0 <= i < len(counts):
            counts[i] += 1
    return tuple(counts)
