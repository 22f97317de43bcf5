"""Judging the turns of concurrent requests with one pass of the model between them.

Under load, the embedded model costs a worker about twice what it costs on a quiet core:
between two requests, the worker's other work evicts the model's tables (the bucket-to-row
map, the weights) from the CPU's caches, and every request pays to read them back. Scored
together, the turns of the requests that reached detection in the same turn of the event
loop pay that once (bench/README.md, "Sixth round").

So each request's judgement (`judgement.judging`) runs until it needs the model; what it
asks for is queued, and one callback, at the loop's next turn, scores everything queued in
one batch and sends each judgement its scores. Waiting for the loop's next turn costs a
request about 30 µs, so only a worker with other requests under way batches
(`flag_turn_async`'s `batch`): at concurrency 1 a turn is judged at once.
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TypeVar

from gateway.detect.judgement import NO_FLAGS, Flags, Judging, Scores, Texts, judging, model_scores
from gateway.detect.model import TextModel
from gateway.detect.rules import RuleSet

T = TypeVar("T")


@dataclass(slots=True)
class _Asked:
    """One judgement's texts, waiting for their scores."""

    model: TextModel
    texts: Texts
    scores: asyncio.Future[Scores]


@dataclass(slots=True)
class _Queue:
    """What one event loop's judgements have asked for since its last batch."""

    asked: list[_Asked] = field(default_factory=list)


class ModelBatches:
    """Judgements on one or more event loops, their model work batched per loop turn."""

    def __init__(self) -> None:
        self._queues: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Queue] = (
            weakref.WeakKeyDictionary()
        )

    async def judge(self, rules: RuleSet, text: str, earlier: Sequence[str] = ()) -> Flags:
        """The flags of the newest user turn, as `judgement.judge` gives them."""
        steps = judging(rules, text, earlier)
        try:
            texts = next(steps)
            while True:
                texts = steps.send(await self._scores(rules, texts))
        except StopIteration as done:
            flags: Flags = done.value
            return flags

    async def _scores(self, rules: RuleSet, texts: Texts) -> Scores:
        model = rules.model
        if model is None:
            return model_scores(None, texts)
        loop = asyncio.get_running_loop()
        queue = self._queues.get(loop)
        if queue is None:
            queue = self._queues[loop] = _Queue()
        if not queue.asked:
            loop.call_soon(_score_queued, queue)
        asked = _Asked(model, texts, loop.create_future())
        queue.asked.append(asked)
        return await asked.scores


def _score_queued(queue: _Queue) -> None:
    """Score everything `queue` holds, one batch per model, and answer each judgement."""
    asked, queue.asked = queue.asked, []
    by_model: dict[int, list[_Asked]] = {}
    for one in asked:
        by_model.setdefault(id(one.model), []).append(one)
    for group in by_model.values():
        try:
            scores: list[Scores] | Exception = _batch(group)
        except Exception as exc:  # every waiting request gets the fault
            scores = exc
        settle([one.scores for one in group], scores)


def settle(futures: Sequence[asyncio.Future[T]], results: Sequence[T] | Exception) -> None:
    """Give each future its result, or every one the exception; a future already done
    (its request cancelled meanwhile) is left as it is."""
    for i, future in enumerate(futures):
        if future.done():
            continue
        if isinstance(results, Exception):
            future.set_exception(results)
        else:
            future.set_result(results[i])


def _batch(group: list[_Asked]) -> list[Scores]:
    """Each judgement's scores, from one call of the model for all of them."""
    found = group[0].model.score([text for one in group for text in one.texts])
    out: list[Scores] = []
    start = 0
    for one in group:
        out.append(found[start : start + len(one.texts)])
        start += len(one.texts)
    return out


BATCHES = ModelBatches()


def judge_many(rules: RuleSet, turns: Sequence[tuple[str, Sequence[str]]]) -> list[Flags]:
    """The flags of each (newest turn, earlier turns), as `judgement.judge` gives them, the
    model scoring every judgement's texts in one call per round (a judgement asks at most
    twice)."""
    out: list[Flags | None] = [None] * len(turns)
    waiting: list[tuple[int, Judging, Texts]] = []
    for i, (text, earlier) in enumerate(turns):
        steps = judging(rules, text, earlier)
        try:
            waiting.append((i, steps, next(steps)))
        except StopIteration as done:
            out[i] = done.value
    while waiting:
        found = model_scores(rules.model, [text for _, _, texts in waiting for text in texts])
        asked, waiting, start = waiting, [], 0
        for i, steps, texts in asked:
            own, start = found[start : start + len(texts)], start + len(texts)
            try:
                waiting.append((i, steps, steps.send(own)))
            except StopIteration as done:
                out[i] = done.value
    return [flags if flags is not None else NO_FLAGS for flags in out]
