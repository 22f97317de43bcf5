"""What a benchmark run measures: each target is one or more servers taking the same load.

Targets are started here, each checked with one plain and one stream request before any
measurement. Several servers in one target (two gateways on one Redis) share wrk's
connections between them.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import bodies
import redis
from servers import HOST, BenchError, Server, Servers, free_port, log_tail, wait_ready

BENCH = Path(__file__).resolve().parent
HEADERS = {
    "Content-Type": "application/json",
    "x-api-key": "sk-ant-bench-0000",
    "anthropic-version": "2023-06-01",
}
SHORT_HISTORY = 2

DIRECT, BARE, LITELLM = "direct", "bare", "litellm"
GATEWAY, GATEWAY_SQLITE, GATEWAY_W2 = "gateway", "gateway-sqlite", "gateway-w2"
# One worker judging its turns itself (`--judge-process off`): one core, the unit a second
# worker is measured against (the default worker also uses a spare core to judge).
GATEWAY_ONE_CORE = "gateway-one-core"
GATEWAY_REDIS, REDIS_PAIR, CLUSTER_PAIR = "gateway-redis", "redis-pair", "cluster-pair"


@dataclass
class Target:
    """One thing measured: its servers (load split evenly) and the Redis it uses, if any."""

    name: str
    servers: list[Server]
    redis_url: str | None = None
    # The process group of the store server it uses (Redis), whose CPU is measured too.
    store_group: int | None = None

    @property
    def urls(self) -> list[str]:
        """The Messages URL of each server."""
        return [server.base + "/v1/messages" for server in self.servers]


def post(url: str, body: bytes) -> tuple[int, bytes]:
    """One POST with the benchmark's headers; the status and body, whatever the status."""
    request = urllib.request.Request(url, data=body, headers=HEADERS, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def smoke_test(server: Server) -> None:
    """One plain and one stream request must come back whole, or the numbers mean nothing."""
    url = server.base + "/v1/messages"
    for stream, expect in ((False, b'"type":"message"'), (True, b"message_stop")):
        status, body = post(url, bodies.messages_body(SHORT_HISTORY, stream=stream))
        if status != 200 or expect not in body:
            raise BenchError(
                f"{server.name} answered a {'stream' if stream else 'plain'} request with "
                f"status {status}: {body[:400]!r}\n{log_tail(server.log)}"
            )


class Launcher:
    """Starts the benchmark's servers; everything it starts is stopped with `servers`."""

    def __init__(self, servers: Servers, workdir: Path) -> None:
        self.servers = servers
        self.workdir = workdir
        self.redis_server: Server | None = None

    def mock(self, deltas: int) -> Server:
        """The mock upstream."""
        port = free_port()
        argv = [sys.executable, str(BENCH / "mock_upstream.py"), "--port", str(port)]
        mock = self.servers.start("mock", port, [*argv, "--deltas", str(deltas)])
        wait_ready(mock, "/", need_200=False)
        return mock

    def bare(self, upstream: str) -> Target:
        """The bare aiohttp passthrough."""
        port = free_port()
        argv = [sys.executable, str(BENCH / "bare_proxy.py"), "--port", str(port)]
        bare = self.servers.start(BARE, port, [*argv, "--upstream", upstream])
        wait_ready(bare, "/", need_200=False)
        smoke_test(bare)
        return Target(BARE, [bare])

    def gateway(
        self,
        name: str,
        upstream: str,
        store: str,
        workers: int = 1,
        *,
        log_name: str = "",
        flags: Sequence[str] = (),
    ) -> Server:
        """`lastword serve` with `store`, `workers` and other `flags`, in front of `upstream`."""
        port = free_port()
        lastword = Path(sys.executable).with_name("lastword")
        command = [str(lastword)] if lastword.exists() else [sys.executable, "-m", "gateway"]
        argv = [
            *command,
            "serve",
            *("--host", HOST, "--port", str(port), "--workers", str(workers)),
            *("--anthropic-upstream", upstream, "--openai-upstream", upstream),
            *("--store", store, "--log-level", "warning"),
            *flags,
        ]
        gateway = self.servers.start(log_name or name, port, argv)
        wait_ready(gateway, "/readyz", need_200=True)
        smoke_test(gateway)
        return gateway

    def redis(self) -> str:
        """A redis-server on a loopback port, persisting nothing; its URL."""
        executable = shutil.which("redis-server")
        if executable is None:
            raise BenchError("redis-server is not on PATH (apt-get install redis-server)")
        port = free_port()
        argv = [
            executable,
            *("--port", str(port), "--bind", HOST, "--save", "", "--appendonly", "no"),
            *("--dir", str(self.workdir)),
        ]
        server = self.redis_server = self.servers.start("redis", port, argv)
        url = f"redis://{HOST}:{port}/0"
        _wait_redis(server, url)
        return url

    def litellm(self, upstream: str) -> Target | str:
        """LiteLLM's proxy in front of `upstream`, or why it cannot run here."""
        executable = _litellm_executable()
        if executable is None:
            return (
                "LiteLLM skipped: no `litellm` command with the proxy extras (install "
                "'litellm[proxy]' in a virtualenv of its own and set BENCH_LITELLM to its "
                "`litellm`, or put it on PATH)"
            )
        config = self.workdir / "litellm.yaml"
        config.write_text(
            "model_list:\n"
            f"  - model_name: {bodies.MODEL}\n"
            "    litellm_params:\n"
            f"      model: anthropic/{bodies.MODEL}\n"
            f"      api_base: {upstream}\n"
            f"      api_key: {HEADERS['x-api-key']}\n"
        )
        port = free_port()
        argv = [executable, "--config", str(config), "--host", HOST, "--port", str(port)]
        # Offline, quiet, and no spend tracking: LiteLLM at its leanest.
        env = {
            "LITELLM_LOCAL_MODEL_COST_MAP": "True",
            "LITELLM_LOG": "ERROR",
            "LITELLM_TELEMETRY": "False",
            "DISABLE_SCHEMA_UPDATE": "True",
            # Clients authenticate with the benchmark's key, as x-api-key, as with the others.
            "LITELLM_MASTER_KEY": HEADERS["x-api-key"],
        }
        server = self.servers.start(LITELLM, port, argv, env=env)
        try:
            wait_ready(server, "/health/liveliness", need_200=True, timeout=120)
            smoke_test(server)
        except BenchError as exc:
            return f"LiteLLM skipped: it did not start or relay the mock's answers ({exc})"
        return Target(LITELLM, [server])


def _litellm_executable() -> str | None:
    """A `litellm` command whose Python can import the proxy, or None."""
    candidates = [os.environ.get("BENCH_LITELLM"), shutil.which("litellm")]
    for candidate in [c for c in candidates if c]:
        python = Path(candidate).with_name("python")
        if not python.exists():
            continue
        check = [str(python), "-c", "import litellm.proxy.proxy_server"]
        done = subprocess.run(check, capture_output=True, timeout=120, check=False)
        if done.returncode == 0:
            return candidate
    return None


def _wait_redis(server: Server, url: str, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise BenchError(f"redis-server exited at start:\n{log_tail(server.log)}")
        try:
            client = redis.Redis.from_url(url)
            try:
                if client.ping():
                    return
            finally:
                client.close()
        except redis.RedisError:
            time.sleep(0.1)
    raise BenchError(f"redis-server not ready after {timeout:.0f}s:\n{log_tail(server.log)}")


def start_cluster(workdir: Path) -> tuple[str, Callable[[], None]]:
    """A 3-primary Redis Cluster on loopback (the store tests' own deployment): its store
    URL, and how to stop it."""
    # The deployment lives with the store tests; the benchmark runs as a script from bench/.
    sys.path.insert(0, str(BENCH.parent))
    from tests.store.redis_cluster import RedisClusterNodes  # noqa: PLC0415 - only with --cluster

    # A fresh folder each run: nodes keep their cluster state in it (nodes.conf).
    folder = workdir / "cluster"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    cluster = RedisClusterNodes(folder)
    cluster.start()
    return cluster.url, cluster.stop


def pair(
    launcher: Launcher, name: str, upstream: str, store: str, *, counted: bool = True
) -> Target:
    """Two one-worker gateways sharing `store`: wrk's connections split between them.

    With `counted`, the store is one Redis whose INFO counts every command of the pair.
    """
    servers = [launcher.gateway(name, upstream, store, log_name=f"{name}-{i}") for i in (1, 2)]
    redis_server = launcher.redis_server if counted else None
    return Target(
        name,
        servers,
        redis_url=store if counted else None,
        store_group=redis_server.process.pid if redis_server else None,
    )


def start_targets(
    launcher: Launcher, deltas: int, *, litellm: bool, cluster: bool
) -> tuple[dict[str, Target], list[str]]:
    """Start every target of a run; the targets and what was skipped (and why)."""
    mock = launcher.mock(deltas)
    smoke_test(mock)
    targets = {DIRECT: Target(DIRECT, [mock]), BARE: launcher.bare(mock.base)}
    skipped: list[str] = []
    sqlite = f"sqlite:///{tempfile.mkdtemp(prefix='bench-', dir=launcher.workdir)}/bench.db"
    for name, store, workers, flags in (
        (GATEWAY, "memory://", 1, ()),
        (GATEWAY_SQLITE, sqlite, 1, ()),
        (GATEWAY_W2, "memory://", 2, ()),
        (GATEWAY_ONE_CORE, "memory://", 1, ("--judge-process", "off")),
    ):
        server = launcher.gateway(name, mock.base, store, workers, flags=flags)
        targets[name] = Target(name, [server])
    redis_url = launcher.redis()
    one = launcher.gateway(GATEWAY_REDIS, mock.base, redis_url)
    group = launcher.redis_server.process.pid if launcher.redis_server else None
    targets[GATEWAY_REDIS] = Target(GATEWAY_REDIS, [one], redis_url=redis_url, store_group=group)
    targets[REDIS_PAIR] = pair(launcher, REDIS_PAIR, mock.base, redis_url)
    if cluster:
        url, stop = start_cluster(launcher.workdir)
        launcher.servers.on_stop.append(stop)
        # Commands spread over the nodes: INFO on one of them would undercount.
        targets[CLUSTER_PAIR] = pair(launcher, CLUSTER_PAIR, mock.base, url, counted=False)
    if litellm:
        started = launcher.litellm(mock.base)
        if isinstance(started, str):
            skipped.append(started)
        else:
            targets[LITELLM] = started
    return targets, skipped
