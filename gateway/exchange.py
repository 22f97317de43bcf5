"""One inspected request's timings and outcome, counted once it is answered."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from gateway import metrics
from gateway.dialects import Dialect


def outcome_of(status: int) -> str:
    """The `outcome` label for an answer the gateway wrote itself."""
    if status == 410:
        return "refused_ended"
    if status < 500:
        return "rejected"
    if status in (502, 504):
        return "upstream_error"
    return "unavailable" if status == 503 else "error"


@dataclass(slots=True)
class Exchange:
    """One inspected request's timings and outcome, for metrics and the request log."""

    dialect: Dialect
    outcome: str = "forwarded"
    started: float = field(default_factory=time.perf_counter)
    upstream_started: float | None = None
    upstream_done: float | None = None

    def upstream_begins(self) -> None:
        """The request leaves for the upstream."""
        self.upstream_started = time.perf_counter()

    def upstream_answers(self) -> None:
        """The upstream's headers arrived."""
        if self.upstream_started is not None:
            ttfb = time.perf_counter() - self.upstream_started
            metrics.for_dialect(self.dialect.name).ttfb.observe(ttfb)

    def upstream_ends(self) -> None:
        """The upstream's last byte arrived (or it failed)."""
        if self.upstream_started is not None and self.upstream_done is None:
            self.upstream_done = time.perf_counter()
            took = self.upstream_done - self.upstream_started
            metrics.for_dialect(self.dialect.name).duration.observe(took)

    def finish(self, outcome: str) -> float:
        """Count the request; return its total duration in seconds."""
        total = time.perf_counter() - self.started
        upstream = 0.0
        if self.upstream_started is not None:
            upstream = (self.upstream_done or time.perf_counter()) - self.upstream_started
        series = metrics.for_dialect(self.dialect.name)
        series.requests(outcome).inc()
        series.overhead.observe(max(total - upstream, 0.0))
        return total
