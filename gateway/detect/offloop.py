"""Long user turns judged (and large bodies parsed) in a separate process, so the event
loop never waits for them.

A scan in a worker thread still holds the GIL through every pattern search and fold: a
megabyte delayed the loop's other requests by tens of milliseconds. A process of its own
holds its own interpreter. Each gateway process keeps one small pool (`ScanPool`), started
at the first long turn; its child loads the rules the same way the gateway did (`RuleSet.
source`), once per rules version, so a reload costs the next long turn one load there.
A rule set that cannot be loaded that way (built by hand), a child whose load gives another
version (the files changed since), or a pool that broke, is judged in a thread instead.
`ScanPool.run` runs any other pure function there the same way (`dialects.parse_named`).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import multiprocessing
import threading
from collections.abc import Callable, Sequence
from concurrent.futures.process import BrokenProcessPool
from typing import Any, TypeVar

from gateway.detect.judgement import Flags, judge, plain_turns
from gateway.detect.rules import RuleSet, RuleSource, load_rules
from gateway.logs import get_logger

log = get_logger("lastword.detect")
T = TypeVar("T")

# Rule sets the child holds, by version: the newest few (a reload adds one).
_CHILD_RULES: dict[str, RuleSet] = {}
_CHILD_KEPT = 2


def _judge_in_child(
    source: RuleSource, version: str, text: str, earlier: Sequence[str]
) -> Flags | None:
    """`judge` in the child with the rules `source` loads; None when they are not `version`."""
    rules = child_rules(source, version)
    return None if rules is None else judge(rules, *plain_turns(text, earlier))


def child_rules(source: RuleSource, version: str) -> RuleSet | None:
    """The rules `source` loads in the child, kept by version; None when they are not
    `version` (the files changed since)."""
    rules = _CHILD_RULES.get(version)
    if rules is None:
        directory, model, thresholds = source
        rules = load_rules(directory, model, thresholds)
        if rules.version != version:
            return None
        while len(_CHILD_RULES) >= _CHILD_KEPT:
            del _CHILD_RULES[next(iter(_CHILD_RULES))]
        _CHILD_RULES[version] = rules
    return rules


class ScanPool:
    """One process that judges long turns, started at first use, stopped by `close`."""

    def __init__(self) -> None:
        self._pool: concurrent.futures.ProcessPoolExecutor | None = None
        self._lock = threading.Lock()
        # A pool whose process died (killed, or unable to start: a program embedding the
        # gateway without the `if __name__ == "__main__"` guard that `spawn` needs) is not
        # started again: the turns are judged in threads, as before there were processes.
        self._broken = False

    def _executor(self) -> concurrent.futures.ProcessPoolExecutor:
        with self._lock:
            if self._pool is None:
                # `spawn`: a fork of a process running an event loop and threads may copy
                # held locks; a fresh interpreter imports only what judging needs.
                context = multiprocessing.get_context("spawn")
                self._pool = concurrent.futures.ProcessPoolExecutor(1, mp_context=context)
            return self._pool

    async def judge(self, rules: RuleSet, text: str, earlier: Sequence[str]) -> Flags:
        """The flags of `text` as written (`judgement.judge` of its `plain_turns`), computed
        in the pool's process."""

        def here() -> Flags:
            return judge(rules, *plain_turns(text, earlier))

        flags = None
        if rules.source is not None:
            source, version, turns = rules.source, rules.version, tuple(earlier)
            flags = await self.run(_judge_in_child, source, version, text, turns, fallback=here)
        return flags if flags is not None else await asyncio.to_thread(here)

    async def run(
        self, function: Callable[..., T], *args: Any, fallback: Callable[[], T] | None = None
    ) -> T:
        """`function(*args)` in the pool's process (a module-level function, arguments and
        result that pickle; its exceptions are raised here); when the pool broke, `fallback()`
        (by default the same call) in a thread."""
        if not self._broken:
            pool = self._executor()
            try:
                return await asyncio.get_running_loop().run_in_executor(pool, function, *args)
            except BrokenProcessPool:
                log.error("scan_process_broken", fallback="thread")
                self._broken = True
                self._drop(pool)
        if fallback is None:
            return await asyncio.to_thread(function, *args)
        return await asyncio.to_thread(fallback)

    def _drop(self, pool: concurrent.futures.ProcessPoolExecutor) -> None:
        with self._lock:
            if self._pool is pool:
                self._pool = None
        pool.shutdown(wait=False, cancel_futures=True)

    async def close(self) -> None:
        """Stop the pool's process (a scan under way is let finish); the next use restarts it."""
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            await asyncio.to_thread(pool.shutdown, wait=True, cancel_futures=True)


SCANS = ScanPool()
