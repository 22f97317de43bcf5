"""A reload asked for while the gateway starts: remembered, then done.

A worker is born ignoring SIGHUP (inherited from the process that starts it, across exec:
by default SIGHUP ends a process, and one forwarded while the worker imports must not).
From `hold()` on, a SIGHUP is remembered instead. Once the application has loaded its rules
and installed its own handler, it reloads if one came (`asked`): the rules it loaded may
be older than the files the reload was asked for. Without this, a reload sent while one
worker of several was still starting left that worker on the old rules for good.
"""

from __future__ import annotations

import signal
from types import FrameType

_asked = False


def hold() -> None:
    """Remember SIGHUP until the application installs its handler (main thread only)."""
    signal.signal(signal.SIGHUP, _remember)


def _remember(_signum: int, _frame: FrameType | None) -> None:
    global _asked  # noqa: PLW0603 - set from a signal handler, read once by the application
    _asked = True


def asked() -> bool:
    """Whether a reload was asked for since `hold`; the request is consumed."""
    global _asked
    was, _asked = _asked, False
    return was
