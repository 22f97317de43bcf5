"""The turns of a busy worker judged in a process of its own, in batches.

Judging a chat turn costs a worker about as much as everything else it does for the
request: with detection taken out, a worker served twice the requests a second
(bench/README.md, "Eighth round"). Under load the event loop holds the GIL for
all of it while the machine's other core waits. So a worker with other requests under way
hands its turns to a process of its own (beside the one that judges long turns, which a
megabyte may hold for a while): the turns that reach detection in one turn of the loop
leave together as a batch, at most `IN_FLIGHT` batches are in the process at once (the
others wait for one to come back), and the model scores each batch's texts together
there (`batching.judge_many`).

The process is reached through a socket pair the event loop reads and writes itself: a
process pool's threads wait for the GIL the loop holds (up to its switch interval, 5 ms)
at every hop, which left both processes idle half the time. A batch holds at most
`BATCH_CHARS` characters, so that the batches in flight fit the socket's buffer and a
write never waits.

The process loads the rules the way the gateway did (`RuleSet.source`). Until it holds
this version of them (at first use, and after a reload) turns are judged on the loop, and
it is told to load them; rules built by hand (no source) are always judged on the loop. A
process that died, or a batch it could not judge, leaves its turns to be judged in a
thread; a process that died is not started again (`ScanPool` does the same).
"""

from __future__ import annotations

import asyncio
import collections
import multiprocessing
import os
import signal
import weakref
from collections.abc import Coroutine, Sequence
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from typing import Any

from gateway.detect.batching import judge_many, settle
from gateway.detect.judgement import WINDOW_TAIL_CHARS, WINDOW_TURNS, Flags
from gateway.detect.offloop import child_rules
from gateway.detect.rules import RuleSet
from gateway.logs import get_logger

log = get_logger("lastword.detect")

# Batches in the process at once: while one is judged, the next crosses over.
IN_FLIGHT = 2
# Characters of turns in one batch, at most (a turn longer than this goes alone): two
# batches, 4 bytes a character at worst, fit a Unix socket's send buffer (about 200 KB).
BATCH_CHARS = 16_384


class ChildGone(Exception):
    """The judging process stopped answering."""


def _serve(conn: Connection) -> None:
    """The process: answer each request in turn, until the gateway closes the socket."""
    # Ctrl-C stops the gateway, which closes the socket: the process then ends after the
    # batch in hand. (SIGTERM still ends it at once: multiprocessing's exit stops daemonic
    # processes with it.)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    while True:
        try:
            request = conn.recv()
        except (EOFError, OSError):
            return
        kind, source, version, turns = request
        try:
            rules = child_rules(source, version)
            if kind == "load":
                reply: Any = rules is not None
            else:
                reply = None if rules is None else judge_many(rules, turns)
            answer = (True, reply)
        except Exception as exc:  # its type only: no text leaves in an error
            answer = (False, type(exc).__name__)
        try:
            conn.send(answer)
        except (BrokenPipeError, OSError):
            return


class _Child:
    """The judging process, its socket, and the answers awaited from it, in order."""

    def __init__(self) -> None:
        # `spawn`: a fork of a process running an event loop and threads may copy held locks.
        context = multiprocessing.get_context("spawn")
        ours, theirs = context.Pipe(duplex=True)
        self.process = context.Process(
            target=_serve, args=(theirs,), name="lastword-judge", daemon=True
        )
        self.process.start()
        theirs.close()
        self.conn = ours
        self.awaited: collections.deque[asyncio.Future[Any]] = collections.deque()
        self.loop: asyncio.AbstractEventLoop | None = None
        self.gone = False

    def ask(
        self, kind: str, rules: RuleSet, turns: Sequence[tuple[str, tuple[str, ...]]] = ()
    ) -> asyncio.Future[Any]:
        """Send one request; the future its answer will settle."""
        loop = asyncio.get_running_loop()
        answer: asyncio.Future[Any] = loop.create_future()
        if self.gone:
            answer.set_exception(ChildGone())
            return answer
        if self.loop is None:
            self.loop = loop
            loop.add_reader(self.conn.fileno(), self._read)
        try:
            self.conn.send((kind, rules.source, rules.version, turns))
        except (BrokenPipeError, OSError):
            self._lost()
            answer.set_exception(ChildGone())
            return answer
        self.awaited.append(answer)
        return answer

    def _read(self) -> None:
        """Settle the oldest awaited answer with each one the process sent."""
        try:
            while self.conn.poll():
                ok, reply = self.conn.recv()
                answer = self.awaited.popleft()
                if answer.done():
                    continue
                if ok:
                    answer.set_result(reply)
                else:
                    answer.set_exception(RuntimeError(f"judging process: {reply}"))
        except (EOFError, OSError, IndexError):
            self._lost()

    def _lost(self) -> None:
        """The process is gone: every awaited answer fails, and none is asked for again."""
        if not self.gone:
            log.error("judge_process_lost", fallback="thread")
        self.detach()

    def detach(self) -> None:
        """Stop reading the socket and fail what is awaited (on the loop's thread)."""
        if self.loop is not None and not self.gone:
            self.loop.remove_reader(self.conn.fileno())
        self.gone = True
        while self.awaited:
            answer = self.awaited.popleft()
            if not answer.done():
                answer.set_exception(ChildGone())

    def stop(self) -> None:
        """Close the socket (the process then returns) and wait for the process a while."""
        self.conn.close()
        self.process.join(timeout=5)
        if self.process.is_alive():
            self.process.kill()
            self.process.join(timeout=5)


@dataclass(slots=True)
class _Turn:
    """One turn waiting for its batch."""

    rules: RuleSet
    text: str
    earlier: tuple[str, ...]
    flags: asyncio.Future[Flags]


@dataclass(slots=True)
class _Queue:
    """One event loop's turns waiting, how many of its batches are in the process, and
    whether the next leaves at the loop's next turn."""

    waiting: list[_Turn] = field(default_factory=list)
    judged: int = 0
    called: bool = False


class HandOff:
    """Turns judged in batches in a process of their own (see the module's doc)."""

    def __init__(self) -> None:
        self.enabled = True
        """Whether turns are handed off at all (the `judge_process` setting, `wanted`)."""
        self._child: _Child | None = None
        self._starting = False
        self._broken = False
        self._queues: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Queue] = (
            weakref.WeakKeyDictionary()
        )
        self._ready: set[str] = set()
        self._loading: set[str] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        self.batches = 0
        """Batches sent to the process so far."""
        self.handed = 0
        """Turns sent to the process so far."""

    async def judge(self, rules: RuleSet, text: str, earlier: Sequence[str]) -> Flags | None:
        """The flags of the newest turn `text`, judged in the process; None when it does not
        hold these rules yet (then it is told to load them), or they have no source: the
        caller judges the turn itself."""
        child = self._child
        if rules.source is None or self._broken:
            return None
        loop = asyncio.get_running_loop()
        if self._elsewhere(loop):
            return None
        child = self._child
        if child is None or child.gone or rules.version not in self._ready:
            self._prepare(rules)
            return None
        queue = self._queues.get(loop)
        if queue is None:
            queue = self._queues[loop] = _Queue()
        # Judging reads the earlier turns' ends only (`judgement.window`): a long pasted
        # turn crosses as what is read of it.
        tails = tuple(turn[-WINDOW_TAIL_CHARS:] for turn in earlier[-WINDOW_TURNS:])
        turn = _Turn(rules, text, tails, loop.create_future())
        queue.waiting.append(turn)
        if not queue.called:
            # The loop's other callbacks first: the turns that reach detection in this turn
            # of the loop leave together.
            queue.called = True
            loop.call_soon(self._send, queue)
        return await turn.flags

    def _elsewhere(self, loop: asyncio.AbstractEventLoop) -> bool:
        """Whether the process answers another event loop than `loop` (one process serves
        one loop; a test suite runs many): a process left by a closed loop is stopped, and
        the next use starts another."""
        child = self._child
        bound = None if child is None else child.loop
        if child is None or bound is None or bound is loop:
            return False
        if not bound.is_closed():
            return True
        child.gone = True
        child.awaited.clear()
        loop.run_in_executor(None, child.stop)
        self._child = None
        self._ready.clear()
        self._loading.clear()
        return False

    def _prepare(self, rules: RuleSet) -> None:
        """Start the process, or have it load `rules` (once per version)."""
        if self._elsewhere(asyncio.get_running_loop()):
            return
        child = self._child
        if child is not None and child.gone:
            self._broken = True
            return
        if child is None:
            if not self._starting:
                self._starting = True
                self._start(self._start_child())
            return
        if rules.version in self._loading:
            return
        self._loading.add(rules.version)
        self._start(self._load(child, rules))

    async def _start_child(self) -> None:
        try:
            self._child = await asyncio.to_thread(_Child)
        except Exception as exc:  # no process: every turn is judged on the loop
            log.error("judge_process_not_started", error=type(exc).__name__)
            self._broken = True
        finally:
            self._starting = False

    async def _load(self, child: _Child, rules: RuleSet) -> None:
        try:
            if await child.ask("load", rules):
                self._ready.add(rules.version)
        except Exception as exc:  # its turns are judged on the loop meanwhile
            log.warning("judge_process_load_failed", error=type(exc).__name__)
        finally:
            self._loading.discard(rules.version)

    def _start(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.ensure_future(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _send(self, queue: _Queue) -> None:
        """Send `queue`'s waiting turns in batches (one rule set each, `BATCH_CHARS` at
        most) while fewer than `IN_FLIGHT` are in the process; the others leave as one
        comes back."""
        queue.called = False
        while queue.waiting and queue.judged < IN_FLIGHT:
            rules = queue.waiting[0].rules
            batch: list[_Turn] = []
            left: list[_Turn] = []
            size = 0
            for turn in queue.waiting:
                chars = len(turn.text) + sum(map(len, turn.earlier))
                if turn.rules is rules and (not batch or size + chars <= BATCH_CHARS):
                    batch.append(turn)
                    size += chars
                else:
                    left.append(turn)
            queue.waiting = left
            queue.judged += 1
            self.batches += 1
            self.handed += len(batch)
            self._start(self._judge_batch(queue, rules, batch))

    async def _judge_batch(self, queue: _Queue, rules: RuleSet, batch: list[_Turn]) -> None:
        try:
            await self._judged(rules, batch)
        finally:
            queue.judged -= 1
            self._send(queue)

    async def _judged(self, rules: RuleSet, batch: list[_Turn]) -> None:
        """Judge `batch` in the process (else in a thread) and answer each turn."""
        turns = [(turn.text, turn.earlier) for turn in batch]
        try:
            found: list[Flags] | None = None
            child = self._child
            if child is not None:
                try:
                    found = await child.ask("judge", rules, turns)
                except ChildGone:
                    self._broken = True
                except RuntimeError:  # a fault in the process: judged here again
                    found = None
            if found is None:  # or the process loaded other rules (the files changed)
                self._ready.discard(rules.version)
                found = await asyncio.to_thread(judge_many, rules, turns)
        except Exception as exc:  # every waiting request gets the fault
            settle([turn.flags for turn in batch], exc)
            return
        settle([turn.flags for turn in batch], found)

    @property
    def pid(self) -> int | None:
        """The judging process's id, while there is one."""
        child = self._child
        return None if child is None or child.gone else child.process.pid

    async def ready(self, rules: RuleSet) -> bool:
        """Wait until the process holds `rules` (starting it, having it load them); whether
        it does (not when it cannot: no source, or no process)."""
        while rules.version not in self._ready or self.pid is None:
            if self._broken or rules.source is None or self._elsewhere(asyncio.get_running_loop()):
                return False
            self._prepare(rules)
            await asyncio.sleep(0.05)
        return True

    async def close(self) -> None:
        """Stop the process; the next use starts it again and has it load the rules."""
        child, self._child = self._child, None
        self._ready.clear()
        self._broken = False
        if child is not None:
            child.detach()
            await asyncio.to_thread(child.stop)


def wanted(setting: str, workers: int) -> bool:
    """Whether the `judge_process` setting (`auto`, `on`, `off`) hands turns off for a
    gateway of `workers` workers: `auto` when this process may run on more cores than there
    are workers (a core no worker uses; with one worker per core, the judging processes
    would only compete with them)."""
    if setting != "auto":
        return setting == "on"
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not on every platform
        cores = os.cpu_count() or 1
    return workers < cores


HANDOFF = HandOff()
