"""In-process store for tests and throwaway runs: plain dicts, lost on exit."""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import TypeVar

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
    Strike,
    Unlock,
    bucketed,
    cutoff,
)

PURGE_EVERY = 60.0

_R = TypeVar("_R", Strike, Ending, Unlock, CrisisMark)


@dataclass(slots=True)
class _Conversation:
    strikes: list[Strike] = field(default_factory=list)
    endings: list[Ending] = field(default_factory=list)
    crisis: list[CrisisMark] = field(default_factory=list)
    unlocks: list[Unlock] = field(default_factory=list)
    alias: str | None = None
    alias_at: float = 0.0


class MemoryStore:
    """A `Store` in one process's memory. Every method runs without awaiting, so is atomic."""

    def __init__(
        self, retention: Retention = DEFAULT_RETENTION, clock: Callable[[], float] = time.time
    ) -> None:
        self._retention = retention
        self._clock = clock
        self._conversations: dict[tuple[str, str], _Conversation] = {}
        self._aliases: dict[tuple[str, str], str] = {}
        self._links: dict[tuple[str, str], ResponseLink] = {}
        self._purged_at = -math.inf

    async def path_state(
        self, tenant: str, conversation_id: str, fingerprints: Sequence[str]
    ) -> PathState:
        """Standing strikes, crisis marks and first standing ending on the path."""
        return self._state(tenant, conversation_id).on(fingerprints)

    async def add_strike(self, strike: Strike) -> ConversationState:
        """Record `strike` and return its conversation's state right after it."""
        self._write(strike.tenant, strike.conversation_id).strikes.append(strike)
        return self._state(strike.tenant, strike.conversation_id)

    async def mark_crisis(self, mark: CrisisMark) -> None:
        """Record a crisis signal on the mark's fingerprint."""
        self._write(mark.tenant, mark.conversation_id).crisis.append(mark)

    async def end(self, ending: Ending) -> Ending:
        """End at the fingerprint, or return the ending already standing there."""
        conv = self._write(ending.tenant, ending.conversation_id)
        floor = cutoff(self._retention.endings, self._clock())
        for existing in conv.endings:
            if existing.fingerprint == ending.fingerprint and self._stands(existing, floor):
                return existing
        conv.endings.append(ending)
        return ending

    async def unlock(self, unlock: Unlock) -> Unlock:
        """Lift the conversation's standing endings, forgive its strikes so far, audit it."""
        conv = self._write(unlock.tenant, unlock.conversation_id)
        floor = cutoff(self._retention.endings, self._clock())
        lifted = 0
        for i, ending in enumerate(conv.endings):
            if self._stands(ending, floor):
                conv.endings[i] = replace(ending, lifted_at=unlock.at)
                lifted += 1
        recorded = replace(unlock, lifted=lifted)
        conv.unlocks.append(recorded)
        return recorded

    async def set_alias(self, tenant: str, conversation_id: str, alias: str) -> None:
        """Name a conversation; the alias and the conversation's previous names are released."""
        conv = self._write(tenant, conversation_id)
        if conv.alias is not None and self._aliases.get((tenant, conv.alias)) == conversation_id:
            del self._aliases[(tenant, conv.alias)]
        previous = self._aliases.get((tenant, alias))
        if previous is not None and previous != conversation_id:
            other = self._conversations.get((tenant, previous))
            if other is not None:
                other.alias = None
        self._aliases[(tenant, alias)] = conversation_id
        conv.alias, conv.alias_at = alias, self._clock()

    async def resolve(self, tenant: str, id_or_alias: str) -> str | None:
        """The conversation id for a recorded `conv_` id or an alias, else None."""
        if id_or_alias.startswith("conv_") and self._record(tenant, id_or_alias) is not None:
            return id_or_alias
        conversation_id = self._aliases.get((tenant, id_or_alias))
        if conversation_id is None:
            return None
        record = self._record(tenant, conversation_id)
        return conversation_id if record is not None and record.alias == id_or_alias else None

    async def conversation(self, tenant: str, conversation_id: str) -> ConversationRecord | None:
        """Everything retained for a conversation, or None if nothing is."""
        return self._record(tenant, conversation_id)

    async def endings(
        self, tenant: str | None, limit: int, before: float | None = None
    ) -> list[Ending]:
        """Endings newest first, lifted ones included, `at` strictly below `before`."""
        floor = cutoff(self._retention.endings, self._clock())
        ceiling = math.inf if before is None else before
        found = [
            e
            for (t, _), conv in self._conversations.items()
            if tenant is None or t == tenant
            for e in conv.endings
            if floor < e.at < ceiling
        ]
        found.sort(key=lambda e: e.at, reverse=True)
        return found[: max(limit, 0)]

    async def activity(self, tenant: str, edges: Sequence[float]) -> Activity:
        """The tenant's endings and crisis turns counted between consecutive `edges`."""
        now = self._clock()
        ending_floor = cutoff(self._retention.endings, now)
        crisis_floor = cutoff(self._retention.crisis, now)
        mine = [conv for (t, _), conv in self._conversations.items() if t == tenant]
        endings = (e.at for conv in mine for e in conv.endings if e.at > ending_floor)
        # One turn's marks (one per crisis category) share their fingerprint and time; a
        # distress mark is no redirect, so not counted.
        turns = {
            (c.conversation_id, c.fingerprint, c.at)
            for conv in mine
            for c in conv.crisis
            if c.level == "crisis"
        }
        crisis = (at for _, _, at in turns if at > crisis_floor)
        return Activity(tuple(edges), bucketed(endings, edges), bucketed(crisis, edges))

    async def link_response(self, link: ResponseLink) -> None:
        """Remember where a relayed response left its conversation; the same id replaces it."""
        self._purge_due()
        self._links[(link.tenant, link.response_id)] = link

    async def linked_response(self, tenant: str, response_id: str) -> ResponseLink | None:
        """The tenant's retained link for `response_id`, or None."""
        link = self._links.get((tenant, response_id))
        if link is None or link.at <= cutoff(self._retention.responses, self._clock()):
            return None
        return link

    async def ping(self) -> None:
        """Always reachable."""

    async def close(self) -> None:
        """Nothing to release."""

    def _state(self, tenant: str, conversation_id: str) -> ConversationState:
        conv = self._conversations.get((tenant, conversation_id))
        if conv is None:
            return ConversationState()
        now, ret = self._clock(), self._retention
        unlock_floor = cutoff(ret.unlocks, now)
        forgiven = max((u.at for u in conv.unlocks if u.at > unlock_floor), default=-math.inf)
        strike_floor = max(cutoff(ret.strikes, now), forgiven)
        ending_floor = cutoff(ret.endings, now)
        crisis_floor = cutoff(ret.crisis, now)
        return ConversationState(
            strikes=tuple(s for s in conv.strikes if s.at > strike_floor),
            endings=tuple(e for e in conv.endings if self._stands(e, ending_floor)),
            crisis=tuple(c for c in conv.crisis if c.at > crisis_floor),
        )

    def _record(self, tenant: str, conversation_id: str) -> ConversationRecord | None:
        conv = self._conversations.get((tenant, conversation_id))
        if conv is None:
            return None
        now, ret = self._clock(), self._retention
        alias_floor = cutoff(ret.aliases, now)
        record = ConversationRecord(
            tenant=tenant,
            conversation_id=conversation_id,
            alias=conv.alias if conv.alias is not None and conv.alias_at > alias_floor else None,
            strikes=_kept(conv.strikes, cutoff(ret.strikes, now)),
            endings=_kept(conv.endings, cutoff(ret.endings, now)),
            unlocks=_kept(conv.unlocks, cutoff(ret.unlocks, now)),
            crisis=_kept(conv.crisis, cutoff(ret.crisis, now)),
        )
        if record.alias is None and not (
            record.strikes or record.endings or record.unlocks or record.crisis
        ):
            return None
        return record

    def _write(self, tenant: str, conversation_id: str) -> _Conversation:
        """The conversation to write to, purging expired records at most once a minute."""
        self._purge_due()
        return self._conversations.setdefault((tenant, conversation_id), _Conversation())

    def _purge_due(self) -> None:
        now = self._clock()
        if now - self._purged_at >= PURGE_EVERY:
            self._purged_at = now
            self._purge(now)

    def _purge(self, now: float) -> None:
        ret = self._retention
        for key, conv in list(self._conversations.items()):
            conv.strikes[:] = _kept(conv.strikes, cutoff(ret.strikes, now))
            conv.endings[:] = _kept(conv.endings, cutoff(ret.endings, now))
            conv.unlocks[:] = _kept(conv.unlocks, cutoff(ret.unlocks, now))
            conv.crisis[:] = _kept(conv.crisis, cutoff(ret.crisis, now))
            if conv.alias is not None and conv.alias_at <= cutoff(ret.aliases, now):
                self._aliases.pop((key[0], conv.alias), None)
                conv.alias = None
            if not (conv.strikes or conv.endings or conv.unlocks or conv.crisis or conv.alias):
                del self._conversations[key]
        link_floor = cutoff(ret.responses, now)
        for key, link in list(self._links.items()):
            if link.at <= link_floor:
                del self._links[key]

    @staticmethod
    def _stands(ending: Ending, floor: float) -> bool:
        return ending.lifted_at is None and ending.at > floor


def _kept(records: list[_R], floor: float) -> tuple[_R, ...]:
    """Records with `at` above `floor`, oldest first."""
    return tuple(sorted((r for r in records if r.at > floor), key=lambda r: r.at))
