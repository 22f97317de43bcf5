"""Moving a Redis written in schema 2 (keys `lastword:conv:<tenant>:<conversation>:<kind>`,
global audit indexes) to schema 3's hash-tagged layout (see `redis_keys`), in place.

Runs at start on one server (schema 2 never ran on a cluster). Every step is safe to repeat,
so replicas starting together, or a start cut short, finish the move.
"""

from __future__ import annotations

from typing import Any

import orjson
from redis.asyncio import Redis
from redis.exceptions import ResponseError

from gateway.store import redis_keys as keys

OLD_CONVERSATIONS = f"{keys.PREFIX}conv:"
OLD_LIFTED = f"{keys.PREFIX}lifted"
OLD_ENDINGS = f"{keys.PREFIX}endings"
OLD_CRISIS = f"{keys.PREFIX}crisis:"


async def migrate_from_2(client: Redis, version: int) -> None:
    """Rename the conversations' keys, split the lift times per conversation, re-file the
    audit indexes into their buckets, then mark the server `version`."""
    async for raw in client.scan_iter(match=f"{OLD_CONVERSATIONS}*", count=1000):
        old = _text(raw)
        rest = old[len(OLD_CONVERSATIONS) :]
        owner, _, kind = rest.rpartition(":")
        # Conversation ids hold no colon; a tenant may.
        tenant, _, conversation = owner.rpartition(":")
        if rest.startswith("{") or not tenant or kind not in keys.CONVERSATION_KINDS:
            continue  # already moved, or not ours
        try:
            await client.rename(old, keys.conversation(tenant, conversation) + kind)
        except ResponseError:  # another replica moved it first
            continue
    async for member, at in client.hscan_iter(OLD_LIFTED):
        record = _record(member)
        lifted = _conversation_key(record, "lifted")
        await client.hset(lifted, member, at)
        ttl = await client.pttl(_conversation_key(record, "endings"))
        if ttl > 0:  # lift times live as long as the endings they lift
            await client.pexpire(lifted, ttl)
    ttl = await client.pttl(OLD_ENDINGS)
    async for member, at in client.zscan_iter(OLD_ENDINGS):
        record = _record(member)
        number = keys.bucket(record["tenant"], record["conversation_id"])
        for index in (keys.endings(number, None), keys.endings(number, record["tenant"])):
            await client.zadd(index, {member: at})
            if ttl > 0:
                await client.pexpire(index, ttl)
    async for raw in client.scan_iter(match=f"{OLD_CRISIS}*", count=1000):
        old = _text(raw)
        tenant, ttl = old[len(OLD_CRISIS) :], await client.pttl(old)
        async for member, at in client.zscan_iter(old):
            conversation = orjson.loads(member)[0]
            index = keys.crisis_turns(keys.bucket(tenant, conversation), tenant)
            await client.zadd(index, {member: at})
            if ttl > 0:
                await client.pexpire(index, ttl)
        await client.delete(old)
    async for raw in client.scan_iter(match=f"{OLD_ENDINGS}:*", count=1000):
        await client.delete(raw)
    await client.delete(OLD_LIFTED, OLD_ENDINGS)
    await client.set(keys.SCHEMA, version)


def _record(member: bytes) -> dict[str, Any]:
    data: dict[str, Any] = orjson.loads(member)[1]
    return data


def _conversation_key(record: dict[str, Any], kind: str) -> str:
    return keys.conversation(record["tenant"], record["conversation_id"]) + kind


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value
