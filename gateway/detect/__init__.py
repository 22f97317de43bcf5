"""What turns traffic into signals: rule packs and the embedded model on user turns,
refusals in answers."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from gateway.detect.batching import BATCHES
from gateway.detect.folding import fold
from gateway.detect.handoff import HANDOFF
from gateway.detect.judgement import NO_FLAGS, Flags, judge, plain_turns, window, work
from gateway.detect.offloop import SCANS
from gateway.detect.rules import Match, RuleError, RuleSet, load_rules
from gateway.dialects.base import Observation

__all__ = [
    "MAX_LOOP_WORK",
    "NO_FLAGS",
    "OFF_LOOP_CHARS",
    "Flags",
    "Match",
    "RuleError",
    "RuleSet",
    "care_source",
    "close_scans",
    "end_request",
    "flag_turn",
    "flag_turn_async",
    "fold",
    "judge",
    "load_rules",
    "read_answer",
    "refusal_source",
]


# Turns longer than this (in characters) are judged in a separate process (`offloop`),
# shorter ones on the event loop when their rule work is light: the hop to the process
# costs a few hundred microseconds, a scan of 2 KB of prose about as much.
OFF_LOOP_CHARS = 2048
# Characters the rules may search on the loop, summed over the armed rules
# (`RuleSet.user_turn_work`): a short text dense with keywords arms many rules over all
# of it, at a few hundred nanoseconds a character each (1 KB of it: several ms).
MAX_LOOP_WORK = 8192


def flag_turn(rules: RuleSet, text: str, earlier: Sequence[str] = ()) -> Flags:
    """Scan the newest user turn, folded (`folding.fold`), for harmful requests and crisis:
    alone, and in a window with the `earlier` user turns (`judgement`)."""
    return judge(rules, *plain_turns(text, earlier))


async def flag_turn_async(
    rules: RuleSet, text: str, earlier: Sequence[str] = (), *, batch: bool = False
) -> Flags:
    """`flag_turn`, in a separate process when the turn is long or its rule work heavy.

    A scan in a thread beside the loop would still hold the GIL through each search; in a
    process, a megabyte delays the loop's other requests by what handing it over costs.
    With `batch` (other requests under way), a short turn goes with those of the requests
    that reach detection in the same turn of the loop to the worker's judging process
    (`handoff`, when the `judge_process` setting wants one and it holds these rules), or
    else is judged on the loop, the model scoring it with theirs (`batching`); alone, at
    once (waiting for the loop's next turn costs a lone request about 30 µs).
    """
    if work(text, earlier) <= OFF_LOOP_CHARS:
        # Decoding never lengthens a text: what was short still is.
        plain, plain_earlier = plain_turns(text, earlier)
        if batch and HANDOFF.enabled:
            handed = await HANDOFF.judge(rules, plain, plain_earlier)
            if handed is not None:
                return handed
        if _light(rules, plain, plain_earlier):
            if batch:
                return await BATCHES.judge(rules, plain, plain_earlier)
            return judge(rules, plain, plain_earlier)
    # As written: the scanning process decodes it (`offloop`), off the loop.
    return await SCANS.judge(rules, text, earlier)


def _light(rules: RuleSet, text: str, earlier: Sequence[str]) -> bool:
    """Whether the rules' work on a short turn and its window fits the loop."""
    joined = window(text, earlier)
    spent = rules.user_turn_work(fold(text, rules.words))
    if joined and spent <= MAX_LOOP_WORK:
        spent += rules.user_turn_work(fold(joined, rules.words))
    return spent <= MAX_LOOP_WORK


async def close_scans() -> None:
    """Stop this process's scanning process, if it started (at the server's shutdown)."""
    await asyncio.gather(SCANS.close(), HANDOFF.close())


def refusal_source(rules: RuleSet, observation: Observation) -> str | None:
    """How the model refused, if it did: `provider` signals first, then `phrase`."""
    if observation.provider_refusal:
        return "provider"
    if observation.text_head and rules.scan(fold(observation.text_head), "refusal"):
        return "phrase"
    return None


# How much of a user turn is read for a request to end the conversation: such a request is
# short and comes last, and the read stays cheap on the loop whatever the turn's length.
END_REQUEST_CHARS = 1024


def care_source(rules: RuleSet, observation: Observation) -> tuple[Match, ...]:
    """The care the answer shows (the model as a witness): rules of kind `care` matched in
    its opening and closing text, where helplines and emergency numbers are given."""
    return read_answer(rules, observation)[1]


def read_answer(rules: RuleSet, observation: Observation) -> tuple[str | None, tuple[Match, ...]]:
    """How the model refused (`refusal_source`) and the care it shows (`care_source`), its
    text folded once for both."""
    head = fold(observation.text_head) if observation.text_head else ""
    refusal = None
    if observation.provider_refusal:
        refusal = "provider"
    elif head and rules.scan(head, "refusal"):
        refusal = "phrase"
    # Head and tail are joined as they stand: contiguous in an answer of up to 1,000
    # characters (a phrase across the join is whole), a gap in a longer one.
    text = head + fold(observation.text_tail) if observation.text_tail else head
    return refusal, rules.scan(text, "care") if text else ()


def end_request(rules: RuleSet, text: str) -> bool:
    """Whether a user turn asks to end the conversation (rules of kind `end_request`), read
    on its last `END_REQUEST_CHARS` characters."""
    if not text:
        return False
    return bool(rules.scan(fold(text[-END_REQUEST_CHARS:]), "end_request"))
