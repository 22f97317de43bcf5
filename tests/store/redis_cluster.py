"""Throwaway Redis deployments beyond one server: a 3-primary Redis Cluster and a Sentinel
service (primary, replica, sentinels), on 127.0.0.1 in a temp dir, for tests and benchmarks.

    with RedisClusterNodes(workdir) as cluster:   # cluster.url: redis+cluster://...
        ...
    with SentinelService(workdir) as service:     # service.url: redis+sentinel://.../lastword
        service.kill_primary(); service.wait_for_new_primary(old)

Session fixtures `redis_cluster` and `redis_sentinel` start one of each per session;
tests/conftest.py imports them (like `redis_url`) so every test folder can use them.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from types import TracebackType

import pytest
import redis

from tests.store.redis_server import RedisServer, free_port

SLOTS = 16384
SERVICE = "lastword"
# A primary waits 5 s for more replicas before a full sync by default: none are coming.
QUICK_SYNC = ("--repl-diskless-sync-delay", "0")


class RedisClusterNodes:
    """Three cluster-enabled redis-servers sharing the 16384 slots, no replicas."""

    def __init__(self, workdir: Path, primaries: int = 3) -> None:
        self.workdir = workdir
        self.nodes = [
            RedisServer(
                workdir,
                extra=(
                    "--cluster-enabled",
                    "yes",
                    "--cluster-config-file",
                    f"nodes-{i}.conf",
                    "--cluster-port",
                    str(free_port()),
                    "--cluster-node-timeout",
                    "5000",
                ),
            )
            for i in range(primaries)
        ]

    @property
    def url(self) -> str:
        """The store URL naming every node (the client discovers the rest anyway)."""
        return "redis+cluster://" + ",".join(f"127.0.0.1:{n.port}" for n in self.nodes)

    def start(self, timeout: float = 60.0) -> None:
        """Start the nodes, split the slots evenly, join them, wait for `cluster_state:ok`."""
        for node in self.nodes:
            node.start()
        share = SLOTS // len(self.nodes)
        first = self.nodes[0]
        for i, node in enumerate(self.nodes):
            low, high = i * share, SLOTS - 1 if i == len(self.nodes) - 1 else (i + 1) * share - 1
            with _client(node.port) as client:
                client.execute_command("CLUSTER", "ADDSLOTSRANGE", low, high)
                if node is not first:
                    bus = node.extra[node.extra.index("--cluster-port") + 1]
                    with _client(first.port) as head:
                        head.execute_command("CLUSTER", "MEET", "127.0.0.1", node.port, bus)
        deadline = time.monotonic() + timeout
        while not all(self._ready(node.port) for node in self.nodes):
            if time.monotonic() > deadline:
                raise RuntimeError(f"Redis Cluster did not form; see logs in {self.workdir}")
            time.sleep(0.05)

    def flush(self) -> None:
        """Delete every key on every primary."""
        for node in self.nodes:
            with _client(node.port) as client:
                client.flushall()

    def stop(self) -> None:
        """Stop every node."""
        for node in self.nodes:
            node.stop()

    def _ready(self, port: int) -> bool:
        with _client(port) as client:
            info = client.execute_command("CLUSTER", "INFO").decode()
            nodes = client.execute_command("CLUSTER", "NODES").decode()
        # Every node must see every other one connected, so no client gets a stale slot map.
        links = [line.split()[7] for line in nodes.splitlines() if line.strip()]
        known = f"cluster_known_nodes:{len(self.nodes)}" in info
        return "cluster_state:ok" in info and known and links == ["connected"] * len(self.nodes)

    def __enter__(self) -> RedisClusterNodes:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


class SentinelService:
    """A primary, one replica and `sentinels` sentinels watching them as service `lastword`.

    Sentinels judge the primary down after one second, so a failover takes seconds.
    """

    def __init__(self, workdir: Path, sentinels: int = 1) -> None:
        self.workdir = workdir
        self.primary = RedisServer(workdir, extra=QUICK_SYNC)
        self.replica: RedisServer | None = None
        self.sentinels = [
            RedisServer(workdir, extra=("--sentinel",), config=workdir / f"sentinel-{i}.conf")
            for i in range(sentinels)
        ]

    @property
    def url(self) -> str:
        """The store URL: every sentinel, then the service name and database 0."""
        hosts = ",".join(f"127.0.0.1:{s.port}" for s in self.sentinels)
        return f"redis+sentinel://{hosts}/{SERVICE}/0"

    def start(self, timeout: float = 60.0) -> None:
        """Start the primary, its replica and the sentinels; return once the sentinels know
        the replica in sync (so a failover can promote it)."""
        self.primary.start()
        replica = (*QUICK_SYNC, "--replicaof", "127.0.0.1", str(self.primary.port))
        self.replica = RedisServer(self.workdir, extra=replica)
        self.replica.start()
        for sentinel in self.sentinels:
            assert sentinel.config is not None
            sentinel.config.write_text(
                f"sentinel monitor {SERVICE} 127.0.0.1 {self.primary.port} 1\n"
                f"sentinel down-after-milliseconds {SERVICE} 1000\n"
                f"sentinel failover-timeout {SERVICE} 10000\n"
                # Known from the start, not from the primary's INFO some seconds later.
                f"sentinel known-replica {SERVICE} 127.0.0.1 {self.replica.port}\n"
            )
            sentinel.start()
        deadline = time.monotonic() + timeout
        while not self._replica_known():
            if time.monotonic() > deadline:
                raise RuntimeError(f"sentinels never saw the replica; see logs in {self.workdir}")
            time.sleep(0.05)

    def primary_port(self) -> int:
        """The port of the primary the first sentinel names now."""
        with _client(self.sentinels[0].port) as client:
            _host, port = client.execute_command("SENTINEL", "GET-MASTER-ADDR-BY-NAME", SERVICE)
        return int(port)

    def kill_primary(self) -> int:
        """Kill the current primary's process outright; return the port it served."""
        port = self.primary_port()
        for server in (self.primary, self.replica):
            if server is not None and server.port == port:
                server.stop(kill=True)
        return port

    def wait_for_new_primary(self, old: int, timeout: float = 60.0) -> int:
        """Wait until the sentinels name a primary other than port `old`, accepting writes."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            port = self.primary_port()
            if port != old and _is_primary(port):
                return port
            time.sleep(0.1)
        raise RuntimeError(f"no failover within {timeout}s; see logs in {self.workdir}")

    def flush(self) -> None:
        """Delete every key on the current primary (the replica follows)."""
        with _client(self.primary_port()) as client:
            client.flushall()

    def stop(self) -> None:
        """Stop sentinels first (no failover on the way down), then the data nodes."""
        for server in (*self.sentinels, self.replica, self.primary):
            if server is not None:
                server.stop()

    def _replica_known(self) -> bool:
        if self.replica is None:
            return False
        for sentinel in self.sentinels:
            with _client(sentinel.port) as client:
                replicas = client.sentinel_slaves(SERVICE)
            if not any(
                int(r["port"]) == self.replica.port
                and r.get("master-link-status") == "ok"
                and not r.get("is_sdown")
                for r in replicas
            ):
                return False
        return True

    def __enter__(self) -> SentinelService:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def _client(port: int) -> redis.Redis:
    return redis.Redis(host="127.0.0.1", port=port, socket_timeout=5)


def _is_primary(port: int) -> bool:
    try:
        with _client(port) as client:
            role = client.execute_command("ROLE")
    except redis.RedisError:
        return False
    return bool(role[0] == b"master")


@pytest.fixture(scope="session")
def redis_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisClusterNodes]:
    """A 3-primary Redis Cluster started once per session; fails (never skips) without one."""
    cluster = RedisClusterNodes(tmp_path_factory.mktemp("redis-cluster"))
    with _running(cluster.start, cluster.stop):
        yield cluster


@pytest.fixture(scope="session")
def redis_sentinel(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SentinelService]:
    """A Sentinel service (primary, replica, two sentinels) started once per session."""
    service = SentinelService(tmp_path_factory.mktemp("redis-sentinel"), sentinels=2)
    with _running(service.start, service.stop):
        yield service


@contextmanager
def _running(start: Callable[[], None], stop: Callable[[], None]) -> Iterator[None]:
    """Run a deployment for the block; fail the test run with its message if it cannot start."""
    problem = ""
    try:
        start()
    except RuntimeError as exc:
        problem = str(exc)
    except BaseException:
        stop()
        raise
    try:
        if problem:
            pytest.fail(problem, pytrace=False)
        yield
    finally:
        stop()
