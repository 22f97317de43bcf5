"""Every metric of the gateway, defined once.

Labels are small fixed sets (dialects, outcomes, reasons, rule-pack categories): never a
conversation id, a tenant, a key or any text. With several worker processes the metrics
are kept in prometheus_client's multiprocess mode (PROMETHEUS_MULTIPROC_DIR), so one scrape
of any worker sees them all.
"""

from __future__ import annotations

import functools
import os
import platform
import time
from types import TracebackType

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from prometheus_client import multiprocess as prometheus_multiprocess

from gateway import __version__

PREFIX = "lastword"
MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
_LATENCY = (0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0)
_UPSTREAM = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300)

REQUESTS = Counter(
    f"{PREFIX}_requests_total",
    "Inspected requests, by dialect and outcome.",
    ["dialect", "outcome"],
)
ENDINGS = Counter(
    f"{PREFIX}_conversations_ended_total", "Conversations ended, by reason.", ["reason"]
)
REFUSED_AS_ENDED = Counter(
    f"{PREFIX}_refused_as_ended_total",
    "Requests answered with the terminal 410 because their path had ended.",
    ["dialect"],
)
STRIKES = Counter(f"{PREFIX}_strikes_total", "Strikes recorded, by category.", ["category"])
REFUSALS = Counter(
    f"{PREFIX}_refusals_total", "Model refusals seen in answers, by source.", ["source"]
)
CRISIS_REDIRECTS = Counter(
    f"{PREFIX}_crisis_redirects_total",
    "Crisis turns redirected, by category and action.",
    ["category", "action"],
)
ENDINGS_SUPPRESSED = Counter(
    f"{PREFIX}_endings_suppressed_total",
    "Endings that would have happened and did not, by reason.",
    ["reason"],
)
DETECTOR_MATCHES = Counter(
    f"{PREFIX}_detector_matches_total",
    "User turns matched by the detectors, by kind (harmful, crisis, suspected) and category.",
    ["kind", "category"],
)
UPSTREAM_DURATION = Histogram(
    f"{PREFIX}_upstream_duration_seconds",
    "Time from sending a request upstream to its answer's last byte.",
    ["dialect"],
    buckets=_UPSTREAM,
)
UPSTREAM_TTFB = Histogram(
    f"{PREFIX}_upstream_ttfb_seconds",
    "Time from sending a request upstream to its answer's headers.",
    ["dialect"],
    buckets=_UPSTREAM,
)
OVERHEAD = Histogram(
    f"{PREFIX}_gateway_overhead_seconds",
    "Time an inspected request spent in the gateway itself, upstream time excluded.",
    ["dialect"],
    buckets=_LATENCY,
)
ACTIVE_STREAMS = Gauge(
    f"{PREFIX}_active_streams",
    "Streams being relayed now.",
    ["dialect"],
    multiprocess_mode="livesum",
)
STORE_DURATION = Histogram(
    f"{PREFIX}_store_operation_duration_seconds",
    "Store operations, by operation.",
    ["operation"],
    buckets=_LATENCY,
)
STORE_ERRORS = Counter(
    f"{PREFIX}_store_errors_total", "Store operations that failed, by operation.", ["operation"]
)
# Kinds, one count per answer: unreachable, timeout, midstream (the stream failed),
# incomplete (it ended before its end), event_too_large (an SSE event over
# max_event_bytes ended it), unreadable (it held events or fields the gateway could not
# read: passed on as they came, not watched).
UPSTREAM_ERRORS = Counter(
    f"{PREFIX}_upstream_errors_total",
    "Upstream faults, by family and kind.",
    ["family", "kind"],
)
REQUEST_BODY_FAILURES = Counter(
    f"{PREFIX}_request_body_failures_total",
    "Request bodies the gateway did not read whole, by dialect and reason (timeout, "
    "client_disconnected, too_large, bad_encoding, unsupported_encoding).",
    ["dialect", "reason"],
)
CLASSIFIER_CALLS = Counter(
    f"{PREFIX}_classifier_requests_total",
    "Calls to the external classifier, by outcome.",
    ["outcome"],
)
BUILD_INFO = Gauge(
    f"{PREFIX}_build_info",
    "Always 1; the gateway's version and Python.",
    ["version", "python"],
    multiprocess_mode="max",
)
RULES_INFO = Gauge(
    f"{PREFIX}_rules_info",
    "Always 1; the loaded rule packs' version hash and rule count.",
    ["version", "rules"],
    multiprocess_mode="max",
)


_published_rules: list[tuple[str, str]] = []


def set_info(rules_version: str, rule_count: int) -> None:
    """Publish build and rules info (again after a rules reload: the old set goes to 0)."""
    BUILD_INFO.labels(__version__, platform.python_version()).set(1)
    for labels in _published_rules:
        RULES_INFO.labels(*labels).set(0)
    _published_rules[:] = [(rules_version, str(rule_count))]
    RULES_INFO.labels(rules_version, str(rule_count)).set(1)


class DialectMetrics:
    """The per-request series of one dialect, bound once (a `labels()` call is not free)."""

    def __init__(self, dialect: str) -> None:
        self.dialect = dialect
        self.ttfb = UPSTREAM_TTFB.labels(dialect)
        self.duration = UPSTREAM_DURATION.labels(dialect)
        self.overhead = OVERHEAD.labels(dialect)
        self.active_streams = ACTIVE_STREAMS.labels(dialect)
        self._requests: dict[str, Counter] = {}

    def requests(self, outcome: str) -> Counter:
        """The request counter for one outcome."""
        child = self._requests.get(outcome)
        if child is None:
            child = self._requests[outcome] = REQUESTS.labels(self.dialect, outcome)
        return child


@functools.cache
def for_dialect(dialect: str) -> DialectMetrics:
    """The bound series of `dialect`."""
    return DialectMetrics(dialect)


@functools.cache
def _store_series(operation: str) -> Histogram:
    return STORE_DURATION.labels(operation)


class store_operation:
    """Time one store operation and count it as an error if it raises.

    A class rather than an `asynccontextmanager`: it runs on every request, and a
    generator-based context manager costs several times as much to enter and leave.
    """

    __slots__ = ("_operation", "_started")

    def __init__(self, operation: str) -> None:
        self._operation = operation
        self._started = 0.0

    async def __aenter__(self) -> None:
        self._started = time.perf_counter()

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        _exc: BaseException | None,
        _tb: TracebackType | None,
    ) -> None:
        if kind is not None and issubclass(kind, Exception):
            STORE_ERRORS.labels(self._operation).inc()
        _store_series(self._operation).observe(time.perf_counter() - self._started)


def exposition() -> tuple[bytes, str]:
    """The metrics in Prometheus text format, all worker processes included."""
    if os.environ.get(MULTIPROC_ENV):
        registry = CollectorRegistry()
        prometheus_multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        return generate_latest(registry), CONTENT_TYPE_LATEST
    return generate_latest(), CONTENT_TYPE_LATEST
