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
    "flag_turn",
    "flag_turn_async",
    "fold",
    "load_rules",
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
