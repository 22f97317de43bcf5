"""Redis store URLs and the clients they name: one server, a Cluster, or a Sentinel service.

    redis://[user:pass@]host:port/db          one server (also rediss:// and unix://)
    redis+cluster://[user:pass@]host:port[,host:port...]     Redis Cluster (or Valkey)
    redis+sentinel://[user:pass@]host:port[,host:port...]/service_name[/db]
The `rediss+` forms use TLS (to sentinels and data nodes alike). A cluster URL names any
reachable nodes (the others are discovered); a sentinel URL names the sentinels, which tell
the primary of `service_name` and, after a failover, its successor. Credentials in the URL
are the data nodes' (sentinels are asked without them).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from urllib.parse import unquote, urlsplit

from redis.asyncio import Redis
from redis.asyncio.cluster import ClusterNode, RedisCluster
from redis.asyncio.retry import Retry
from redis.asyncio.sentinel import Sentinel
from redis.backoff import NoBackoff

PLAIN_SCHEMES = ("redis", "rediss", "unix")
CLUSTER_SCHEMES = ("redis+cluster", "rediss+cluster")
SENTINEL_SCHEMES = ("redis+sentinel", "rediss+sentinel")
SCHEMES = PLAIN_SCHEMES + CLUSTER_SCHEMES + SENTINEL_SCHEMES
CLUSTER_FORM = "redis+cluster://host:port[,host:port...]"
SENTINEL_FORM = "redis+sentinel://host:port[,host:port...]/service_name[/db]"

Client = Redis | RedisCluster


@dataclass(frozen=True, slots=True)
class Connection:
    """A client for the store's data, whether it spans several primaries, and what to close."""

    client: Client
    cluster: bool = False
    closers: tuple[Callable[[], Awaitable[None]], ...] = field(default=())


@dataclass(frozen=True, slots=True)
class Location:
    """The parts of a multi-host URL: nodes, credentials, path segments, TLS, and for a
    sentinel URL the service and database."""

    hosts: tuple[tuple[str, int], ...]
    username: str | None
    password: str | None
    segments: tuple[str, ...]
    tls: bool
    service: str | None = None  # a sentinel URL's service name
    db: int = 0


def connect(url: str, timeout: float = 1.0) -> Connection:
    """A lazily connecting client for `url`; ValueError names what is wrong with a bad one.

    Socket timeouts and a single reconnect keep outages short; nothing is contacted yet.
    """
    where = locate(url)
    retry = Retry(NoBackoff(), 1)
    if where is None:
        client = Redis.from_url(
            url, socket_timeout=timeout, socket_connect_timeout=timeout, retry=retry
        )
        return Connection(client)
    if where.service is None:
        cluster = RedisCluster(
            startup_nodes=[ClusterNode(host, port) for host, port in where.hosts],
            username=where.username,
            password=where.password,
            ssl=where.tls,
            retry=retry,
            socket_timeout=timeout,
            socket_connect_timeout=timeout,
        )
        return Connection(cluster, cluster=True)
    sentinel = Sentinel(
        list(where.hosts),
        sentinel_kwargs={
            "socket_timeout": timeout,
            "socket_connect_timeout": timeout,
            "ssl": where.tls,
        },
    )
    primary = sentinel.master_for(
        where.service,
        db=where.db,
        username=where.username,
        password=where.password,
        ssl=where.tls,
        retry=retry,
        socket_timeout=timeout,
        socket_connect_timeout=timeout,
    )
    return Connection(primary, closers=tuple(s.aclose for s in sentinel.sentinels))


def locate(url: str) -> Location | None:
    """The nodes a cluster or sentinel URL names (None for a one-server URL); ValueError
    if the URL is not a Redis store URL or is malformed (its message never quotes the URL,
    which may hold a password). Builds no client."""
    scheme = url.partition("://")[0].lower()
    if scheme in PLAIN_SCHEMES:
        return None
    if scheme in CLUSTER_SCHEMES:
        where = parse(url, 6379, CLUSTER_FORM)
        if where.segments not in ((), ("0",)):
            raise ValueError("bad Redis Cluster URL: a cluster has database 0 only")
        return where
    if scheme in SENTINEL_SCHEMES:
        where = parse(url, 26379, SENTINEL_FORM)
        names = where.segments
        if not 1 <= len(names) <= 2 or (len(names) == 2 and not names[1].isdigit()):
            raise ValueError(f"bad Redis Sentinel URL: use {SENTINEL_FORM}")
        return replace(where, service=names[0], db=int(names[1]) if len(names) == 2 else 0)
    raise ValueError(f"not a Redis store URL (scheme {scheme!r})")


def parse(url: str, default_port: int, form: str) -> Location:
    """Split a `scheme://[user:pass@]host:port[,host:port...]/path` URL; ValueError if bad."""
    parts = urlsplit(url)
    userinfo, _, netloc = parts.netloc.rpartition("@")
    username, _, password = userinfo.partition(":")
    hosts = tuple(_host(item, default_port, form) for item in netloc.split(","))
    if parts.query or parts.fragment:
        raise ValueError(f"bad Redis store URL: no query or fragment is read; use {form}")
    segments = tuple(unquote(s) for s in parts.path.split("/") if s)
    return Location(
        hosts=hosts,
        username=unquote(username) or None,
        password=unquote(password) or None,
        segments=segments,
        tls=parts.scheme.lower().startswith("rediss"),
    )


def _host(item: str, default_port: int, form: str) -> tuple[str, int]:
    host, port = item, ""
    if item.startswith("["):  # [IPv6]:port
        host, _, rest = item[1:].partition("]")
        port = rest.removeprefix(":")
    elif ":" in item:
        host, _, port = item.rpartition(":")
    if not host or (port and not (port.isdigit() and 0 < int(port) < 65536)):
        raise ValueError(f"bad Redis store URL: host {item!r}; use {form}")
    return host, int(port) if port else default_port
