"""Strikes, endings, crisis precedence and shadow mode: pure decisions, no I/O.

A strike needs two things at once: a user turn the detectors flagged as a harmful request,
and a model that refused it. Neither alone counts, so a model that over-refuses adds no
false endings.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

from gateway.detect import Flags
from gateway.store import CrisisMark, Strike

LockScope = Literal["path", "conversation"]
# The source of a strike recorded while a crisis stood: kept for audit and for counting
# the ending it would have brought, never counted towards a real one.
SUPPRESSED = "suppressed:crisis"


@dataclass(frozen=True, slots=True)
class Policy:
    """The ending policy, as configured."""

    threshold: int = 3
    category_thresholds: Mapping[str, int] = field(default_factory=dict)
    lock_scope: LockScope = "path"
    shadow: bool = False
    crisis_turns: int = 3
    model_end_requires_flag: bool = True


def strike_category(flags: Flags, refusal: str | None, model_ended: bool) -> str | None:
    """The category of the strike this turn earns, or None.

    The model ending the conversation on a flagged turn is the strongest refusal of all.
    """
    if flags.harmful and (refusal is not None or model_ended):
        return flags.harmful[0].category
    return None


def categories_at_threshold(
    policy: Policy, strikes: Sequence[Strike], *, with_suppressed: bool = False
) -> tuple[str, ...]:
    """The categories whose strikes end the conversation; empty while it goes on.

    A category with its own threshold counts against that threshold alone (lower or
    higher than the default); the strikes of every other category count together towards
    the policy's threshold. `with_suppressed` also counts strikes recorded during a crisis:
    what would have happened without it.
    """
    # One user turn earns at most one strike per category, however often it is retried
    # (regenerate, a client's retry after a timeout): strikes count distinct points.
    counted = {
        (s.fingerprint, s.category) for s in strikes if with_suppressed or s.source != SUPPRESSED
    }
    counts = Counter(category for _, category in counted)
    own = policy.category_thresholds
    reached = {c for c, n in counts.items() if c in own and n >= own[c]}
    pooled = {c: n for c, n in counts.items() if c not in own}
    if sum(pooled.values()) >= policy.threshold:
        reached |= set(pooled)
    return tuple(sorted(reached))


def crisis_stands(policy: Policy, marks: Sequence[CrisisMark], path: Sequence[str]) -> bool:
    """Whether a crisis signal stands: marked on the newest user turn or one of the
    `crisis_turns` user turns before it (`path`: the fingerprint of every user turn).
    """
    if not marks:
        return False
    recent = set(path[-(policy.crisis_turns + 1) :])
    return any(mark.fingerprint in recent for mark in marks)
