"""What `lastword serve` checks before it starts, each failure one sentence naming its cause.

Run once, in the process that starts the workers: a bad rules folder, a misspelled
category, a damaged database or a port in use is reported once, before any worker exists,
instead of once per worker as a traceback.
"""

from __future__ import annotations

import errno
import socket
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from gateway.config import ModelSettings, Settings, check_categories
from gateway.crisis import CrisisDirectory, CrisisDirectoryError, load_directory
from gateway.detect import RuleError, RuleSet, load_rules
from gateway.detect.classifier import LLAMA_GUARD_MAP, MODERATION_MAP
from gateway.detect.rules import DEFAULT_RULES_DIR
from gateway.errors import GatewayError
from gateway.logs import get_logger
from gateway.store import RedisStore, SQLiteStore, StoreError, StoreFormatError, open_store
from gateway.store.types import Retention

log = get_logger("lastword.startup")


class StartupError(GatewayError):
    """The gateway cannot start; the message names the setting and the cause."""


@dataclass(frozen=True, slots=True)
class Packs:
    """The rule packs and the crisis directory of the configured rules folder."""

    rules: RuleSet
    directory: CrisisDirectory


def load_packs(folder: Path | None, model: ModelSettings | None = None) -> Packs:
    """Load and prove the rule packs, the model and the crisis directory of `folder`
    (None: shipped), the model as `model` settings say."""
    model = model or ModelSettings()
    where = folder or DEFAULT_RULES_DIR
    if not where.exists():
        raise StartupError(f"rules: the folder {where} does not exist")
    if not where.is_dir():
        raise StartupError(f"rules: {where} is not a folder")
    try:
        rules = load_rules(where, model.enabled, model.thresholds)
        return Packs(rules, load_directory(where))
    except (RuleError, CrisisDirectoryError) as exc:
        raise StartupError(f"rules: refused: {exc}") from None
    except OSError as exc:
        raise StartupError(f"rules: cannot read {exc.filename or where}: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise StartupError(f"rules: a file in {where} is not UTF-8 text") from None


def check_names(settings: Settings, rules: RuleSet) -> None:
    """Refuse settings naming categories neither the rule packs nor the classifier report."""
    harmful = set(rules.categories("harmful"))
    crisis = set(rules.categories("crisis"))
    if settings.classifier is not None:
        table = MODERATION_MAP if settings.classifier.kind == "moderation" else LLAMA_GUARD_MAP
        harmful |= {category for category, kind in table.values() if kind == "harmful"}
        crisis |= {category for category, kind in table.values() if kind == "crisis"}
    check_categories(settings, harmful, crisis)


def store_location(url: str) -> str:
    """The store URL without credentials: fit for a log line."""
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url
    # Split by hand: a cluster or sentinel URL names several host:port pairs.
    return parts._replace(netloc=parts.netloc.rpartition("@")[2]).geturl()


async def check_store(settings: Settings, retention: Retention) -> Path | None:
    """Open the store once and close it; for SQLite, check its pages and return its path.

    A missing, unreadable or damaged database, or one of an older schema, is a StoreError.
    A Redis that does not answer is not (serving through an outage is `store_failure`'s
    call): it is logged loudly, with what it means for enforcement.
    """
    try:
        store = await open_store(settings.store, retention, redis_timeout=settings.store_timeout)
    except ValueError as exc:
        raise StoreError(f"store: {exc}") from None
    try:
        if isinstance(store, SQLiteStore):
            await store.check()
            return store.path
        if isinstance(store, RedisStore):
            try:
                await store.check()
            except StoreFormatError:
                raise
            except StoreError as exc:
                log.error(
                    "store_unreachable_at_start",
                    store=store_location(settings.store),
                    error=str(exc),
                    store_failure=settings.store_failure,
                    effect=OUTAGE_EFFECT[settings.store_failure],
                )
        return None
    finally:
        await store.close()


# What a store outage means for the traffic, by `store_failure`: said at start and in /readyz.
OUTAGE_EFFECT = {
    "open": "serving without enforcement until the store answers: no strike, ending or "
    "crisis mark is recorded, and ended conversations are not refused",
    "closed": "every inspected request is answered 503 until the store answers",
}


def cannot_listen(exc: OSError) -> bool:
    """Whether `exc` is a socket failing to listen on an address (not any other OSError)."""
    errnos = (errno.EADDRINUSE, errno.EACCES, errno.EADDRNOTAVAIL)
    return isinstance(exc, socket.gaierror) or exc.errno in errnos


def listen_problem(exc: OSError, key: str, host: str, port: int) -> str:
    """The sentence for a socket that could not listen on `host:port` (`key`: the setting)."""
    where = f"{host}:{port}"
    if isinstance(exc, socket.gaierror):
        return f"host: {host!r} does not resolve to an address: {exc.strerror}"
    if exc.errno == errno.EADDRINUSE:
        return f"{key}: {where} is already in use by another process"
    if exc.errno == errno.EACCES:
        return f"{key}: {where} needs privileges this process does not have"
    if exc.errno == errno.EADDRNOTAVAIL:
        return f"host: {host} is not an address of this machine"
    return f"{key}: cannot listen on {where}: {exc.strerror or exc}"


def _probe(key: str, host: str, port: int) -> None:
    """Bind `host:port` as the server would, without SO_REUSEPORT, and let go at once.

    Without SO_REUSEPORT the bind also fails where another gateway's workers share the port
    with it (they would otherwise silently split the traffic with this one).
    """
    try:
        infos = socket.getaddrinfo(
            host or None, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )
        with ExitStack() as stack:
            for family, kind, proto, _name, address in dict.fromkeys(infos):
                sock = stack.enter_context(socket.socket(family, kind, proto))
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                if family == socket.AF_INET6:
                    sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
                sock.bind(address)
    except OSError as exc:
        raise StartupError(listen_problem(exc, key, host, port)) from None


def check_ports(settings: Settings) -> None:
    """Refuse to start when the gateway's port or its metrics port cannot be listened on."""
    if settings.port:
        _probe("port", settings.host, settings.port)
    if settings.metrics_port:
        _probe("metrics_port", settings.host, settings.metrics_port)
