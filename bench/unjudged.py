"""`lastword` with every user turn left unjudged: what the gateway costs without detection.

A measuring device for `budget.py`, never a way to serve: every turn reads as unflagged, so
nothing is ever struck, ended or redirected. Arguments are `lastword`'s.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

import gateway.inspection
from gateway.cli import main
from gateway.detect import NO_FLAGS, Flags, RuleSet


async def unjudged(
    rules: RuleSet, text: str, earlier: Sequence[str] = (), *, batch: bool = False
) -> Flags:
    """No flags, at no cost."""
    return NO_FLAGS


if __name__ == "__main__":
    gateway.inspection.flag_turn_async = unjudged  # type: ignore[attr-defined]  # `Guard.begin` calls it
    main(sys.argv[1:])
