"""The gateway on Redis past one server: replicas sharing a Redis Cluster, and a Sentinel
failover served through by `store_failure: open`."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import redis

from tests.conftest import GatewayFactory
from tests.e2e.conversation_play import AFTER, play_until_ended, turn
from tests.store.redis_cluster import RedisClusterNodes, SentinelService


async def test_replicas_on_a_redis_cluster_share_endings(
    make_gateway: GatewayFactory, redis_cluster: RedisClusterNodes
) -> None:
    """Ended through one replica on a 3-primary cluster, refused by the other."""
    redis_cluster.flush()
    one = await make_gateway(store=redis_cluster.url)
    two = await make_gateway(store=redis_cluster.url)
    history = await play_until_ended(one)
    status, _, headers = await turn(two, "chat", history, AFTER)
    assert (status, headers["X-Conversation-Status"]) == (410, "ended")


async def test_a_sentinel_failover_is_served_through_and_the_ending_holds(
    make_gateway: GatewayFactory, tmp_path: Path
) -> None:
    """Primary killed: while the sentinel promotes the replica every request is answered
    (served without enforcement, or refused once the new primary answers), never a 5xx;
    after the switch the ended conversation is refused again."""
    with SentinelService(tmp_path) as service:
        gateway = await make_gateway(store=service.url)
        history = await play_until_ended(gateway)
        with redis.Redis(host="127.0.0.1", port=service.primary_port()) as primary:
            assert primary.execute_command("WAIT", 1, 10_000) == 1  # the ending is replicated
        old = service.kill_primary()
        statuses, deadline = [], time.monotonic() + 90
        while time.monotonic() < deadline:
            status, _, _ = await turn(gateway, "anthropic", history, AFTER)
            statuses.append(status)
            if status == 410 and service.primary_port() != old:
                break
            await asyncio.sleep(0.05)
        # The first request meets the dead primary (sentinels wait a second to judge it).
        assert statuses[0] == 200
        assert set(statuses) <= {200, 410}
        assert statuses[-1] == 410
