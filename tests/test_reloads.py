"""A reload asked for while the gateway starts is remembered, then done once."""

from __future__ import annotations

import asyncio
import os
import signal
from collections.abc import Iterator

import pytest

from gateway import reloads
from gateway.app import coalesced


@pytest.fixture
def held() -> Iterator[None]:
    """`reloads.hold()` in this process, the former SIGHUP handler put back after."""
    former = signal.getsignal(signal.SIGHUP)
    reloads.asked()  # nothing left over from another test
    reloads.hold()
    try:
        yield
    finally:
        signal.signal(signal.SIGHUP, former)


@pytest.mark.usefixtures("held")
def test_a_sighup_while_starting_is_remembered_once() -> None:
    """SIGHUP before the application's handler: the process lives, and `asked` says so
    once (the application then reloads once)."""
    assert not reloads.asked()
    os.kill(os.getpid(), signal.SIGHUP)
    os.kill(os.getpid(), signal.SIGHUP)
    assert reloads.asked()
    assert not reloads.asked()


def test_a_burst_of_reload_signals_reloads_once() -> None:
    """SIGHUPs that come before the reload runs are one reload: a burst cannot queue up
    reloads that hold the loop (and a SIGTERM behind them) for as long as it lasts."""
    loop = asyncio.new_event_loop()
    reloads: list[int] = []
    try:
        asked = coalesced(loop, lambda: reloads.append(1))
        for _ in range(5):
            asked()
        loop.run_until_complete(asyncio.sleep(0))
        assert len(reloads) == 1
        asked()
        asked()
        loop.run_until_complete(asyncio.sleep(0))
        assert len(reloads) == 2
    finally:
        loop.close()
