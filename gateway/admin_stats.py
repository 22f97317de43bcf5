"""`GET /admin/stats`: a tenant's endings and crisis redirects per hour, counts only.

Hours are whole UTC hours, the current one (still filling) last. A crisis redirect is a turn
the gateway answered with crisis resources (one however many crisis categories it matched);
crisis marks are kept `retention.crisis_days` (one day by default), so older hours show none.
"""

from __future__ import annotations

import math
import re
import time

from aiohttp import web

from gateway.admin import AdminHandler, Json, iso
from gateway.config import RetentionSettings
from gateway.errors import BadRequest
from gateway.store import Store
from gateway.store.types import DAY

HOUR = 3600.0
DEFAULT_HOURS, MAX_HOURS = 24, 168
_HOURS = re.compile(r"[0-9]{1,3}")


def _hours(text: str | None) -> int:
    """The number of hours asked for, 1 to MAX_HOURS."""
    if text is not None and (not _HOURS.fullmatch(text) or not 1 <= int(text) <= MAX_HOURS):
        raise BadRequest(f"hours: a whole number from 1 to {MAX_HOURS}", param="hours")
    return DEFAULT_HOURS if text is None else int(text)


def hour_edges(now: float, hours: int) -> tuple[float, ...]:
    """Edges of the last `hours` whole UTC hours, the one holding `now` last."""
    end = (math.floor(now / HOUR) + 1) * HOUR
    return tuple(end - (hours - i) * HOUR for i in range(hours + 1))


def _counted_from(days: float | None, now: float, start: float) -> str | None:
    """Where the counts of a kind of record begin: the window's start, or later when that
    kind is kept for less time than the window spans."""
    return iso(start if days is None else max(start, now - days * DAY))


def stats_handler(retention: RetentionSettings) -> AdminHandler:
    """The `GET /admin/stats?hours=N` handler; `retention` says how far back records go."""

    async def hourly_stats(request: web.Request, tenant: str, store: Store) -> Json:
        """`GET /admin/stats?hours=N`: endings and crisis redirects per hour (24 by default)."""
        hours = _hours(request.query.get("hours"))
        now = time.time()
        activity = await store.activity(tenant, hour_edges(now, hours))
        edges = activity.edges
        buckets = [
            {"start": iso(at), "endings": endings, "crisis": crisis}
            for at, endings, crisis in zip(edges, activity.endings, activity.crisis, strict=False)
        ]
        counted_from = {
            "endings": _counted_from(retention.endings_days, now, edges[0]),
            "crisis": _counted_from(retention.crisis_days, now, edges[0]),
        }
        totals = {"endings": sum(activity.endings), "crisis": sum(activity.crisis)}
        return {
            "stats": {
                "hours": hours,
                "from": iso(edges[0]),
                "to": iso(edges[-1]),
                "buckets": buckets,
                "totals": totals,
                "counted_from": counted_from,
            }
        }

    return hourly_stats
