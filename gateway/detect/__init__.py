"""What turns traffic into signals: rule packs and the embedded model on user turns,
refusals in answers."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from gateway.detect.folding import fold
from gateway.detect.judgement import NO_FLAGS, Flags, judge, work
from gateway.detect.rules import Match, RuleError, RuleSet, load_rules
from gateway.dialects.base import Observation

__all__ = [
    "NO_FLAGS",
    "OFF_LOOP_CHARS",
    "Flags",
    "Match",
    "RuleError",
    "RuleSet",
    "care_source",
    "end_request",
    "flag_turn",
    "flag_turn_async",
    "fold",
    "load_rules",
    "read_answer",
    "refusal_source",
]


# Turns longer than this (in characters) are scanned in a worker thread, shorter ones on
# the event loop: the hop to a thread costs about 0.1 ms, while the scan costs about 1-3 µs
# a character on prose (2 KB: 2-6 ms on a busy 2-core machine), and DESIGN.md gives no
# scan more than a few milliseconds of the loop.
OFF_LOOP_CHARS = 2048


def flag_turn(rules: RuleSet, text: str, earlier: Sequence[str] = ()) -> Flags:
    """Scan the newest user turn, folded (`folding.fold`), for harmful requests and crisis:
    alone, and in a window with the `earlier` user turns (`judgement`)."""
    return judge(rules, text, earlier)


async def flag_turn_async(rules: RuleSet, text: str, earlier: Sequence[str] = ()) -> Flags:
    """`flag_turn`, run in a worker thread when the rules would read over `OFF_LOOP_CHARS`.

    The scan holds the GIL one short step at a time (folding and window searches go piece
    by piece, the model reads a bounded part of the text), so the loop goes on serving
    other requests while a megabyte is scanned.
    """
    if work(text, earlier) <= OFF_LOOP_CHARS:
        return flag_turn(rules, text, earlier)
    return await asyncio.to_thread(flag_turn, rules, text, earlier)


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
