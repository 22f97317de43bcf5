"""Shared store for several gateway replicas: Redis, one script call per operation.

Keys (all under `lastword:`), per conversation `conv:<tenant>:<conversation id>:`
- `strikes`, `crisis`, `endings`, `unlocks`: sorted sets of record JSON scored by time;
- `standing`: hash fingerprint -> the ending JSON last recorded there (until unlocked);
- `alias`: the conversation's alias; and `alias:<tenant>:<alias>` the way back.
`response:<tenant>:<response id>` holds one response link, JSON (see `redis_codec`).
Audit indexes `endings` and `endings:<tenant>` (sorted sets) and the `lifted` hash (ending JSON
-> lifted time) span conversations, as does `crisis:<tenant>` (one member per crisis turn).
A conversation's records are few, so path reads fetch them whole and keep the path's
fingerprints locally: the request carries no fingerprint list.
Every key gets the TTL of its retention, refreshed on write, so memory stays bounded.
"""

from __future__ import annotations

import itertools
import math
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import replace
from typing import Any

from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import RedisError

from gateway.store import redis_codec as codec
from gateway.store import redis_scripts as lua
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
    StoreFormatError,
    Strike,
    Unlock,
    cutoff,
)

PREFIX = "lastword:"
# The format of what this gateway writes, kept under SCHEMA_KEY. Version 2: paths of
# user-side turns with the end user (contract 2). A server holding Lastword keys and no
# mark was written before it, by a gateway whose paths this one cannot read.
SCHEMA_KEY = f"{PREFIX}schema"
SCHEMA_VERSION = 2


class RedisStore:
    """A `Store` on one Redis server, shared by every gateway replica pointed at it."""

    def __init__(
        self,
        client: Redis,
        retention: Retention = DEFAULT_RETENTION,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._client, self._retention, self._clock = client, retention, clock
        self._scripts = {name: client.register_script(text) for name, text in lua.SCRIPTS.items()}

    @classmethod
    def from_url(
        cls,
        url: str,
        retention: Retention = DEFAULT_RETENTION,
        clock: Callable[[], float] = time.time,
        timeout: float = 1.0,
    ) -> RedisStore:
        """Connect lazily to `url`; socket timeouts and a single reconnect keep outages short."""
        client = Redis.from_url(
            url,
            socket_timeout=timeout,
            socket_connect_timeout=timeout,
            retry=Retry(NoBackoff(), 1),
        )
        return cls(client, retention, clock)

    async def check(self) -> None:
        """Refuse a server written in another format (StoreFormatError); mark a new one.

        Raises StoreError when the server cannot be reached.
        """
        with _translated():
            found = await self._client.get(SCHEMA_KEY)
            if found is None:
                async for _ in self._client.scan_iter(match=f"{PREFIX}*", count=1000):
                    raise StoreFormatError(
                        "Redis store holds data of an older Lastword whose conversation paths"
                        f" this one (schema {SCHEMA_VERSION}) cannot read: use a new database"
                        f" or delete the {PREFIX}* keys"
                    )
                await self._client.set(SCHEMA_KEY, SCHEMA_VERSION, nx=True)
                return
        version = found.decode() if isinstance(found, bytes) else str(found)
        if version != str(SCHEMA_VERSION):
            raise StoreFormatError(
                f"Redis store has schema {version}; this Lastword reads schema {SCHEMA_VERSION}"
            )

    async def path_state(
        self, tenant: str, conversation_id: str, fingerprints: Sequence[str]
    ) -> PathState:
        """Standing strikes, crisis marks and first standing ending on the path, one call."""
        return (await self._state(tenant, conversation_id, ())).on(fingerprints)

    async def add_strike(self, strike: Strike) -> ConversationState:
        """Record `strike` and read its conversation back in the same script."""
        extra = (codec.member(strike), repr(strike.at), _ttl(self._retention.strikes))
        return await self._state(strike.tenant, strike.conversation_id, extra)

    async def mark_crisis(self, mark: CrisisMark) -> None:
        """Record a crisis signal on the mark's fingerprint."""
        ttl = self._retention.crisis
        keys = [_key(mark, "crisis"), f"{PREFIX}crisis:{mark.tenant}"]
        args = (codec.member(mark), repr(mark.at), _floor(ttl, self._clock()), _ttl(ttl))
        # Only a confident crisis is a redirect, counted in the tenant's crisis-turn index.
        turn = codec.turn_member(mark) if mark.level == "crisis" else ""
        await self._call("MARK_CRISIS", keys, (*args, turn))

    async def end(self, ending: Ending) -> Ending:
        """End at the fingerprint, or return the ending standing there."""
        ttl = self._retention.endings
        keys = [_key(ending, "endings"), _key(ending, "standing")]
        keys += [f"{PREFIX}endings", f"{PREFIX}endings:{ending.tenant}", f"{PREFIX}lifted"]
        args = (ending.fingerprint, codec.member(ending), repr(ending.at))
        member = await self._call("END", keys, (*args, _floor(ttl, self._clock()), _ttl(ttl)))
        return codec.ending(member, None)

    async def unlock(self, unlock: Unlock) -> Unlock:
        """Lift the conversation's standing endings, forgive its strikes so far, audit it."""
        now, ret = self._clock(), self._retention
        keys = [_key(unlock, k) for k in ("standing", "endings", "unlocks")] + [f"{PREFIX}lifted"]
        floors = (_floor(ret.endings, now), _floor(ret.unlocks, now))
        args = (repr(unlock.at), codec.member(unlock), *floors, _ttl(ret.unlocks))
        lifted = await self._call("UNLOCK", keys, args)
        return replace(unlock, lifted=int(lifted))

    async def set_alias(self, tenant: str, conversation_id: str, alias: str) -> None:
        """Name a conversation (one alias per conversation, refreshed on every call)."""
        conversation = f"{PREFIX}conv:{tenant}:"
        keys = [f"{conversation}{conversation_id}:alias", f"{PREFIX}alias:{tenant}:{alias}"]
        args = (alias, conversation_id, _ttl(self._retention.aliases))
        await self._call("SET_ALIAS", keys, (*args, f"{PREFIX}alias:{tenant}:", conversation))

    async def resolve(self, tenant: str, id_or_alias: str) -> str | None:
        """The conversation id for a recorded `conv_` id or an alias, else None."""
        base = f"{PREFIX}conv:{tenant}:{id_or_alias}:"
        kinds = ("strikes", "crisis", "endings", "unlocks", "alias")
        with _translated():
            async with self._client.pipeline(transaction=False) as pipe:
                pipe.exists(*(base + kind for kind in kinds))
                pipe.get(f"{PREFIX}alias:{tenant}:{id_or_alias}")
                recorded, aliased = await pipe.execute()
        if id_or_alias.startswith("conv_") and recorded:
            return id_or_alias
        return None if aliased is None else bytes(aliased).decode()

    async def conversation(self, tenant: str, conversation_id: str) -> ConversationRecord | None:
        """Everything retained for a conversation, or None if nothing is."""
        now, ret = self._clock(), self._retention
        base = f"{PREFIX}conv:{tenant}:{conversation_id}:"
        keys = [base + k for k in ("strikes", "crisis", "endings", "unlocks", "alias")]
        floors = (ret.strikes, ret.crisis, ret.endings, ret.unlocks)
        reply = await self._call(
            "CONVERSATION", [*keys, f"{PREFIX}lifted"], [_floor(t, now) for t in floors]
        )
        strikes, crisis, endings, lifted, unlocks, alias = reply
        if not (strikes or crisis or endings or unlocks or alias):
            return None
        return ConversationRecord(
            tenant=tenant,
            conversation_id=conversation_id,
            alias=None if alias is None else bytes(alias).decode(),
            strikes=tuple(map(codec.strike, strikes)),
            endings=tuple(codec.ending(m, at) for m, at in zip(endings, lifted, strict=True)),
            unlocks=tuple(codec.unlock(m) for m in unlocks),
            crisis=tuple(map(codec.crisis, crisis)),
        )

    async def endings(
        self, tenant: str | None, limit: int, before: float | None = None
    ) -> list[Ending]:
        """Endings newest first, lifted ones included, `at` strictly below `before`."""
        if limit <= 0:
            return []
        index = f"{PREFIX}endings" if tenant is None else f"{PREFIX}endings:{tenant}"
        ceiling = "+inf" if before is None else f"({before!r}"
        floor = "(" + _floor(self._retention.endings, self._clock())
        members, lifted = await self._call(
            "ENDINGS", [index, f"{PREFIX}lifted"], (ceiling, floor, limit)
        )
        return [codec.ending(m, at) for m, at in zip(members, lifted, strict=True)]

    async def activity(self, tenant: str, edges: Sequence[float]) -> Activity:
        """The tenant's endings and crisis turns counted between consecutive `edges`, one
        call (crisis marks written before the crisis-turn index existed are not counted)."""
        now, ret = self._clock(), self._retention
        spans = list(itertools.pairwise(edges))
        bounds: list[str | int] = [len(spans)]
        for floor in (cutoff(ret.endings, now), cutoff(ret.crisis, now)):
            for lo, hi in spans:
                bounds += [f"({floor!r}" if floor >= lo else repr(lo), f"({hi!r}"]
        keys = [f"{PREFIX}endings:{tenant}", f"{PREFIX}crisis:{tenant}"]
        endings, crisis = await self._call("ACTIVITY", keys, bounds)
        return Activity(tuple(edges), tuple(map(int, endings)), tuple(map(int, crisis)))

    async def link_response(self, link: ResponseLink) -> None:
        """Remember where a relayed response left its conversation; the same id replaces it."""
        ttl = _ttl(self._retention.responses)
        key = _link_key(link.tenant, link.response_id)
        with _translated():
            await self._client.set(key, codec.link_value(link), px=int(ttl) if ttl else None)

    async def linked_response(self, tenant: str, response_id: str) -> ResponseLink | None:
        """The tenant's retained link for `response_id`, or None; one GET."""
        with _translated():
            value = await self._client.get(_link_key(tenant, response_id))
        if value is None:
            return None
        link = codec.link(value)
        # The tenant check also guards keys that colons in a tenant or id would make ambiguous.
        floor = cutoff(self._retention.responses, self._clock())
        if (link.tenant, link.response_id) != (tenant, response_id) or link.at <= floor:
            return None
        return link

    async def ping(self) -> None:
        """Return when the server answers PING."""
        with _translated():
            await self._client.ping()

    async def close(self) -> None:
        """Close the connection pool."""
        await self._client.aclose()

    async def _state(
        self, tenant: str, conversation_id: str, extra: tuple[str, ...]
    ) -> ConversationState:
        now, ret = self._clock(), self._retention
        base = f"{PREFIX}conv:{tenant}:{conversation_id}:"
        keys = [base + k for k in ("strikes", "crisis", "standing", "unlocks")]
        floors = (_floor(ret.strikes, now), _floor(ret.crisis, now), _floor(ret.unlocks, now))
        strikes, standing, crisis = await self._call("STATE", keys, (*floors, *extra))
        ending_floor = cutoff(ret.endings, now)
        endings = (codec.ending(m, None) for m in standing)
        return ConversationState(
            strikes=tuple(map(codec.strike, strikes)),
            endings=tuple(e for e in endings if e.at > ending_floor),
            crisis=tuple(map(codec.crisis, crisis)),
        )

    async def _call(self, script: str, keys: list[str], args: Sequence[str | int]) -> Any:
        with _translated():
            return await self._scripts[script](keys=keys, args=args)


@contextmanager
def _translated() -> Iterator[None]:
    """Raise Redis and socket failures (timeouts included) as StoreError."""
    try:
        yield
    except (RedisError, OSError) as exc:
        raise StoreError(f"Redis store failed: {exc}") from exc


def _key(record: Strike | Ending | CrisisMark | Unlock, kind: str) -> str:
    return f"{PREFIX}conv:{record.tenant}:{record.conversation_id}:{kind}"


def _link_key(tenant: str, response_id: str) -> str:
    return f"{PREFIX}response:{tenant}:{response_id}"


def _floor(ttl: float | None, now: float) -> str:
    return repr(cutoff(ttl, now))


def _ttl(ttl: float | None) -> str:
    return "" if ttl is None else str(max(1, math.ceil(ttl * 1000)))
