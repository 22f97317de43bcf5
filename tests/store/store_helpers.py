"""Helpers shared by the store tests: a fake clock and the store factory's type."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from gateway.store import Store

START = 1_700_000_000.0
# The tests' Redis timeout. A server on loopback answers in microseconds, but a test process
# on a shared, loaded machine can wait over a second for a core, and a timeout that fires
# then fails a test for nothing. Faults are injected otherwise (closed ports, a silent
# socket), so a generous timeout costs no test its meaning.
TIMEOUT = 10.0

MakeStore = Callable[..., Awaitable[Store]]


class FakeClock:
    """A settable clock: `clock()` reads it, `advance()` moves it."""

    def __init__(self, now: float = START) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> float:
        """Move time forward and return the new time."""
        self.now += seconds
        return self.now
