"""Shared store for several gateway replicas: Redis, one server, a Cluster or a Sentinel
service, one atomic script per conversation operation.

Keys are laid out in `redis_keys`: a conversation's keys share one hash tag, so each of its
operations runs in one slot; the audit indexes spanning conversations are written in a
second step, in buckets, and read by merging the buckets. An alias and its conversation live
in different slots: setting one is a few single-slot steps (see `set_alias`).
A conversation's records are few, so path reads fetch them whole and keep the path's
fingerprints locally: the request carries no fingerprint list.
Every key gets the TTL of its retention, refreshed on write, so memory stays bounded.
"""

from __future__ import annotations

import heapq
import itertools
import math
import time
from collections.abc import Awaitable, Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import replace
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import RedisClusterException, RedisError

from gateway.store import redis_codec as codec
from gateway.store import redis_keys as keys
from gateway.store import redis_scripts as lua
from gateway.store.redis_connect import Client, Connection, connect
from gateway.store.redis_migrate import migrate_from_2
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

PREFIX = keys.PREFIX
# The format of what this gateway writes, kept under SCHEMA_KEY. Version 2: paths of
# user-side turns with the end user (contract 2). Version 3: keys hash-tagged per
# conversation, audit indexes in buckets (see `redis_keys`); a version-2 server is moved
# over by `check` (see `redis_migrate`). A server holding Lastword keys and no mark was
# written before version 2, by a gateway whose paths this one cannot read.
SCHEMA_KEY = keys.SCHEMA
SCHEMA_VERSION = 3


class RedisStore:
    """A `Store` on Redis (one server, a Cluster or a Sentinel service), shared by every
    gateway replica pointed at it."""

    def __init__(
        self,
        client: Client | Connection,
        retention: Retention = DEFAULT_RETENTION,
        clock: Callable[[], float] = time.time,
    ) -> None:
        connection = client if isinstance(client, Connection) else Connection(client)
        self._connection = connection
        self._client = connection.client
        self._retention, self._clock = retention, clock
        self._scripts = {
            name: self._client.register_script(text) for name, text in lua.SCRIPTS.items()
        }

    @classmethod
    def from_url(
        cls,
        url: str,
        retention: Retention = DEFAULT_RETENTION,
        clock: Callable[[], float] = time.time,
        timeout: float = 1.0,
    ) -> RedisStore:
        """Connect lazily to `url` (see `redis_connect` for the forms); ValueError if bad."""
        return cls(connect(url, timeout), retention, clock)

    @property
    def cluster(self) -> bool:
        """Whether the store spans the primaries of a Redis Cluster."""
        return self._connection.cluster

    async def check(self) -> None:
        """Refuse a server written in another format (StoreFormatError); mark a new one; move
        one of schema 2 (one server only) to this layout.

        Raises StoreError when the server cannot be reached.
        """
        with _translated():
            found = await self._client.get(SCHEMA_KEY)
            if found is None:
                found = await self._unmarked()
            if found is None:
                await self._client.set(SCHEMA_KEY, SCHEMA_VERSION, nx=True)
                return
        version = _text(found)
        if version == "2" and isinstance(self._client, Redis):
            with _translated():
                await migrate_from_2(self._client, SCHEMA_VERSION)
            return
        if version == "2":  # on a cluster: keys of several slots cannot be renamed there
            raise StoreFormatError(
                f"Redis Cluster store has schema 2; this Lastword reads schema {SCHEMA_VERSION}:"
                " start it once on a single Redis holding the data to move it, then copy it over"
            )
        if version != str(SCHEMA_VERSION):
            raise StoreFormatError(
                f"Redis store has schema {version}; this Lastword reads schema {SCHEMA_VERSION}"
            )

    async def _unmarked(self) -> Any:
        """On a server with no schema mark: None when it holds none of our keys; the mark
        when another gateway set it meanwhile (replicas starting together on a new server:
        the keys found are that one's); else StoreFormatError (an older Lastword's data)."""
        async for key in self._client.scan_iter(match=f"{PREFIX}*", count=1000):
            marked = await self._client.get(SCHEMA_KEY)
            if marked is not None:
                return marked
            raise StoreFormatError(
                "Redis store holds data of an older Lastword whose conversation paths"
                f" this one (schema {SCHEMA_VERSION}) cannot read: use a new database"
                f" or delete the {PREFIX}* keys (found {_text(key)})"
            )
        return None

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
        """Record a crisis signal on the mark's fingerprint; a confident one's turn is then
        counted in the tenant's crisis-turn index (a second step: another slot)."""
        ttl = self._retention.crisis
        floor, expiry = _floor(ttl, self._clock()), _ttl(ttl)
        key = _key(mark, "crisis")
        await self._call("MARK_CRISIS", [key], (codec.member(mark), repr(mark.at), floor, expiry))
        if mark.level == "crisis":
            # Only a confident crisis is a redirect, counted in the tenant's crisis-turn index.
            index = [keys.crisis_turns(_bucket(mark), mark.tenant)]
            turn = codec.turn_member(mark)
            await self._call("INDEX", index, (turn, repr(mark.at), floor, expiry))

    async def end(self, ending: Ending) -> Ending:
        """End at the fingerprint, or return the ending standing there; then list it in the
        audit indexes (a second step: another slot)."""
        ttl = self._retention.endings
        floor, expiry = _floor(ttl, self._clock()), _ttl(ttl)
        conversation = [_key(ending, kind) for kind in ("endings", "standing", "lifted")]
        args = (ending.fingerprint, codec.member(ending), repr(ending.at), floor, expiry)
        member = await self._call("END", conversation, args)
        standing = codec.ending(member, None)
        # Listed even when it stood already (ZADD is idempotent): an ending a crashed gateway
        # recorded but never listed is listed by the next attempt on its fingerprint.
        number = _bucket(ending)
        index = [keys.endings(number, None), keys.endings(number, ending.tenant)]
        await self._call("INDEX", index, (member, repr(standing.at), floor, expiry))
        return standing

    async def unlock(self, unlock: Unlock) -> Unlock:
        """Lift the conversation's standing endings, forgive its strikes so far, audit it."""
        now, ret = self._clock(), self._retention
        conversation = [_key(unlock, k) for k in ("standing", "endings", "unlocks", "lifted")]
        floors = (_floor(ret.endings, now), _floor(ret.unlocks, now))
        expiries = (_ttl(ret.unlocks), _ttl(ret.endings))
        args = (repr(unlock.at), codec.member(unlock), *floors, *expiries)
        lifted = await self._call("UNLOCK", conversation, args)
        return replace(unlock, lifted=int(lifted))

    async def set_alias(self, tenant: str, conversation_id: str, alias: str) -> None:
        """Name a conversation (one alias per conversation, refreshed on every call).

        Single-slot steps: point the conversation at the alias and the alias at the
        conversation (one pipeline, each answering its former partner), then let each former
        partner go unless something re-pointed it meanwhile (only when the pair changed).
        """
        ttl = self._retention.aliases
        expiry = None if ttl is None else max(1, math.ceil(ttl * 1000))
        own = keys.conversation(tenant, conversation_id) + "alias"
        with _translated():
            async with self._client.pipeline(transaction=False) as pipe:
                pipe.set(own, alias, px=expiry, get=True)
                pipe.set(keys.alias(tenant, alias), conversation_id, px=expiry, get=True)
                old_alias, old_owner = await pipe.execute()
        if old_alias is not None and _text(old_alias) != alias:
            await self._call("DELETE_IF", [keys.alias(tenant, _text(old_alias))], [conversation_id])
        if old_owner is not None and _text(old_owner) != conversation_id:
            former = keys.conversation(tenant, _text(old_owner)) + "alias"
            await self._call("DELETE_IF", [former], [alias])

    async def resolve(self, tenant: str, id_or_alias: str) -> str | None:
        """The conversation id for a recorded `conv_` id or an alias, else None."""
        base = keys.conversation(tenant, id_or_alias)
        kinds = ("strikes", "crisis", "endings", "unlocks", "alias")
        with _translated():
            async with self._client.pipeline(transaction=False) as pipe:
                pipe.exists(*(base + kind for kind in kinds))
                pipe.get(keys.alias(tenant, id_or_alias))
                recorded, aliased = await pipe.execute()
        if id_or_alias.startswith("conv_") and recorded:
            return id_or_alias
        return None if aliased is None else _text(aliased)

    async def conversation(self, tenant: str, conversation_id: str) -> ConversationRecord | None:
        """Everything retained for a conversation, or None if nothing is."""
        now, ret = self._clock(), self._retention
        base = keys.conversation(tenant, conversation_id)
        names = [base + k for k in ("strikes", "crisis", "endings", "unlocks", "alias", "lifted")]
        floors = (ret.strikes, ret.crisis, ret.endings, ret.unlocks)
        reply = await self._call("CONVERSATION", names, [_floor(t, now) for t in floors])
        strikes, crisis, endings, lifted, unlocks, alias = reply
        if not (strikes or crisis or endings or unlocks or alias):
            return None
        return ConversationRecord(
            tenant=tenant,
            conversation_id=conversation_id,
            alias=None if alias is None else _text(alias),
            strikes=tuple(map(codec.strike, strikes)),
            endings=tuple(codec.ending(m, at) for m, at in zip(endings, lifted, strict=True)),
            unlocks=tuple(codec.unlock(m) for m in unlocks),
            crisis=tuple(map(codec.crisis, crisis)),
        )

    async def endings(
        self, tenant: str | None, limit: int, before: float | None = None
    ) -> list[Ending]:
        """Endings newest first, lifted ones included, `at` strictly below `before`: the
        newest `limit` of every bucket merged, then their lift times, two pipelines."""
        if limit <= 0:
            return []
        ceiling = "+inf" if before is None else f"({before!r}"
        floor = "(" + _floor(self._retention.endings, self._clock())
        with _translated():
            async with self._client.pipeline(transaction=False) as pipe:
                for number in range(keys.BUCKETS):
                    index = keys.endings(number, tenant)
                    pipe.zrevrangebyscore(index, ceiling, floor, 0, limit, withscores=True)
                pages: list[list[tuple[bytes, float]]] = await pipe.execute()
        newest = heapq.merge(*pages, key=lambda item: (item[1], item[0]), reverse=True)
        members = [member for member, _ in itertools.islice(newest, limit)]
        found = [codec.ending(member, None) for member in members]
        with _translated():
            async with self._client.pipeline(transaction=False) as pipe:
                for member, ending in zip(members, found, strict=True):
                    pipe.hget(_key(ending, "lifted"), member)
                lifted: list[bytes | None] = await pipe.execute()
        return [codec.ending(m, at) for m, at in zip(members, lifted, strict=True)]

    async def activity(self, tenant: str, edges: Sequence[float]) -> Activity:
        """The tenant's endings and crisis turns counted between consecutive `edges`, summed
        over the buckets, one pipeline (crisis marks written before the crisis-turn index
        existed are not counted)."""
        now, ret = self._clock(), self._retention
        spans = list(itertools.pairwise(edges))
        if not spans:
            return Activity(tuple(edges), (), ())
        bounds: dict[str, list[tuple[str, str]]] = {}
        for kind, ttl in (("endings", ret.endings), ("crisis", ret.crisis)):
            floor = cutoff(ttl, now)
            bounds[kind] = [
                (f"({floor!r}" if floor >= lo else repr(lo), f"({hi!r}") for lo, hi in spans
            ]
        with _translated():
            async with self._client.pipeline(transaction=False) as pipe:
                for number in range(keys.BUCKETS):
                    for lo, hi in bounds["endings"]:
                        pipe.zcount(keys.endings(number, tenant), lo, hi)
                    for lo, hi in bounds["crisis"]:
                        pipe.zcount(keys.crisis_turns(number, tenant), lo, hi)
                counts: list[int] = await pipe.execute()
        n = len(spans)
        per_bucket = [counts[i : i + 2 * n] for i in range(0, len(counts), 2 * n)]
        totals = [sum(column) for column in zip(*per_bucket, strict=True)]
        return Activity(tuple(edges), tuple(totals[:n]), tuple(totals[n:]))

    async def link_response(self, link: ResponseLink) -> None:
        """Remember where a relayed response left its conversation; the same id replaces it."""
        ttl = _ttl(self._retention.responses)
        key = keys.response(link.tenant, link.response_id)
        with _translated():
            await self._client.set(key, codec.link_value(link), px=int(ttl) if ttl else None)

    async def linked_response(self, tenant: str, response_id: str) -> ResponseLink | None:
        """The tenant's retained link for `response_id`, or None; one GET."""
        with _translated():
            value = await self._client.get(keys.response(tenant, response_id))
        if value is None:
            return None
        link = codec.link(value)
        # The tenant check also guards keys that colons in a tenant or id would make ambiguous.
        floor = cutoff(self._retention.responses, self._clock())
        if (link.tenant, link.response_id) != (tenant, response_id) or link.at <= floor:
            return None
        return link

    async def ping(self) -> None:
        """Return when the server (on a cluster: every primary) answers PING."""
        with _translated():
            await self._client.ping()

    async def close(self) -> None:
        """Close the connection pools (a Sentinel service's sentinel connections too)."""
        await self._client.aclose()
        for close in self._connection.closers:
            await close()

    async def _state(
        self, tenant: str, conversation_id: str, extra: tuple[str, ...]
    ) -> ConversationState:
        now, ret = self._clock(), self._retention
        base = keys.conversation(tenant, conversation_id)
        names = [base + k for k in ("strikes", "crisis", "standing", "unlocks")]
        floors = (_floor(ret.strikes, now), _floor(ret.crisis, now), _floor(ret.unlocks, now))
        strikes, standing, crisis = await self._call("STATE", names, (*floors, *extra))
        ending_floor = cutoff(ret.endings, now)
        endings = (codec.ending(m, None) for m in standing)
        return ConversationState(
            strikes=tuple(map(codec.strike, strikes)),
            endings=tuple(e for e in endings if e.at > ending_floor),
            crisis=tuple(map(codec.crisis, crisis)),
        )

    async def _call(self, script: str, names: list[str], args: Sequence[str | int]) -> Any:
        with _translated():
            call: Awaitable[Any] = self._scripts[script](keys=names, args=args)
            return await call


@contextmanager
def _translated() -> Iterator[None]:
    """Raise Redis and socket failures (timeouts, a cluster none of whose nodes answers
    included) as StoreError."""
    try:
        yield
    except (RedisError, RedisClusterException, OSError) as exc:
        # A sentinel's "no master" message goes on with the whole client's repr: cut it.
        detail = str(exc).partition(" : <")[0]
        raise StoreError(f"Redis store failed: {detail}") from exc


def _key(record: Strike | Ending | CrisisMark | Unlock, kind: str) -> str:
    return keys.conversation(record.tenant, record.conversation_id) + kind


def _bucket(record: Ending | CrisisMark) -> int:
    return keys.bucket(record.tenant, record.conversation_id)


def _text(value: object) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _floor(ttl: float | None, now: float) -> str:
    return repr(cutoff(ttl, now))


def _ttl(ttl: float | None) -> str:
    return "" if ttl is None else str(max(1, math.ceil(ttl * 1000)))
