"""Strikes and the endings they bring: pure decisions on a conversation's recorded state.

A strike needs two things at once: a user turn the detectors flagged as a harmful request,
and a model that refused it. Neither alone counts, so a model that over-refuses adds no
false endings.

A refused turn the detectors only *suspect* (`Flags.suspected`: a model score between the
wide and the confident threshold) is a suspected strike. Suspected strikes complete an
ending, never make most of it: a path's suspected strikes count up to as many as its
confident ones. With the default threshold of 3, two confident strikes and a suspected
one end the path; one confident and two suspected do not, and a look-alike the detectors
only suspect, repeated to a model that refuses everything, never ends anything.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Literal

from gateway.detect import Flags
from gateway.policy.settings import Policy
from gateway.policy.standing import standing_level
from gateway.records import (
    WHOLE_CONVERSATION,
    ConversationState,
    CrisisLevel,
    Ending,
    Strike,
    first_ending,
)

# What a strike means for one path through it (see `decide_strike`): to be ended, already
# ended (`over`), held by a crisis level or by shadow mode.
Verdict = Literal["end", "over", "crisis", "distress", "shadow"]
# The source of a strike recorded while a crisis or distress stood: kept for audit and for
# counting the ending it would have brought, never counted towards a real one.
SUPPRESSED_PREFIX = "suppressed:"
SUPPRESSED = SUPPRESSED_PREFIX + "crisis"
# The source of a suspected strike starts with this (before any suppressed source).
SUSPECTED_PREFIX = "suspected:"


def suppressed_source(level: CrisisLevel) -> str:
    """The source a strike is recorded with while `level` stands."""
    return SUPPRESSED_PREFIX + level


def is_suppressed(strike: Strike) -> bool:
    """Whether the strike was recorded while a crisis or distress stood (it does not count)."""
    return strike.source.removeprefix(SUSPECTED_PREFIX).startswith(SUPPRESSED_PREFIX)


def is_suspected(strike: Strike) -> bool:
    """Whether the strike's turn was only suspected (it never makes most of an ending)."""
    return strike.source.startswith(SUSPECTED_PREFIX)


@dataclass(frozen=True, slots=True)
class Struck:
    """The strike a turn earns: its category, and whether the turn was only suspected."""

    category: str
    suspected: bool = False


def strike_category(flags: Flags, refusal: str | None, model_ended: bool) -> Struck | None:
    """The strike this turn earns, or None: a refused turn flagged as harmful, else a
    refused turn suspected of it.

    The model ending the conversation on a flagged turn is the strongest refusal of all.
    """
    if refusal is None and not model_ended:
        return None
    if flags.harmful:
        return Struck(flags.harmful[0].category)
    if flags.suspected:
        return Struck(flags.suspected[0].category, suspected=True)
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
    # (regenerate, a client's retry after a timeout): strikes count distinct points, a
    # point confident if any of its strikes is.
    counted: dict[tuple[str, str], bool] = {}
    for s in strikes:
        if with_suppressed or not is_suppressed(s):
            key = (s.fingerprint, s.category)
            counted[key] = counted.get(key, False) or not is_suspected(s)
    confident = Counter(category for (_, category), sure in counted.items() if sure)
    suspected = Counter(category for (_, category), sure in counted.items() if not sure)
    own = policy.category_thresholds
    reached = {c for c in own if _weight(confident[c], suspected[c]) >= own[c] and confident[c]}
    pooled = {c for c in (*confident, *suspected) if c not in own}
    sure = sum(confident[c] for c in pooled)
    if sure and _weight(sure, sum(suspected[c] for c in pooled)) >= policy.threshold:
        reached |= pooled
    return tuple(sorted(reached))


def _weight(confident: int, suspected: int) -> int:
    """What strikes count towards a threshold: suspected ones up to as many as confident."""
    return confident + min(suspected, confident)


@dataclass(frozen=True, slots=True)
class Reach:
    """A path whose strikes reach the threshold: its deepest struck `point`, where its ending
    goes (`at`: the point, or the root with lock_scope conversation), the categories, and
    whether that ending covers the path of the request whose strike was decided (`own`)."""

    point: str
    at: str
    categories: tuple[str, ...]
    own: bool


@dataclass(frozen=True, slots=True)
class StrikeOutcome:
    """What one recorded strike brings about, decided on its whole conversation.

    `end`: the endings to write, no one under another. `standing`: an ending already over
    the strike's own path when that path reached the threshold (shown to its request; not
    written or counted again). `suppressed`: endings that would have happened, with the
    reason they did not (`crisis`, `distress`, `shadow`), each counted once, by the strike
    that brought its path to the threshold. `reached`: whether the strike's own path stands at the
    threshold (counting only strikes recorded while no crisis or distress stood).
    """

    end: tuple[Reach, ...] = ()
    standing: Ending | None = None
    suppressed: tuple[tuple[str, Reach], ...] = ()
    reached: bool = False


def decide_strike(
    policy: Policy, state: ConversationState, strike: Strike, root: str
) -> StrikeOutcome:
    """Decide what `strike` brings, given its conversation's `state` right after it was
    written (which holds it and every strike written before it).

    A strike changes the count of every path through its point: its own, and the deeper
    paths already struck below it (requests for turns 1, 1-2 and 1-3 in flight at once each
    write on their own path; the last writer must see the deepest one complete). Its own
    path ends whenever it stands at the threshold; a deeper path only when this strike is
    what brought it there (else the strike that did decided it). No ending where a crisis
    or distress stands on the path. `root` is the conversation's root fingerprint.
    """
    paths = _struck_paths(state.strikes)
    own_path = paths[strike.fingerprint] = _points(strike)
    below = sorted((points for points in paths.values() if strike.fingerprint in points), key=len)
    verdicts = [v for points in below if (v := _judge(policy, state, strike, points, root))]
    own_over = any(v == "over" and r.point == strike.fingerprint for v, r in verdicts)
    standing = first_ending(state.endings, (WHOLE_CONVERSATION, *own_path)) if own_over else None
    held = tuple(
        (verdict, reach)
        for verdict in ("crisis", "distress", "shadow")
        for reach in _outermost([r for v, r in verdicts if v == verdict], paths)
    )
    on_own_path = set(own_path)
    on_own = [s for s in state.strikes if s.fingerprint in on_own_path]
    return StrikeOutcome(
        _outermost([r for v, r in verdicts if v == "end"], paths),
        standing,
        held,
        bool(categories_at_threshold(policy, on_own)),
    )


def _judge(
    policy: Policy, state: ConversationState, strike: Strike, points: Sequence[str], root: str
) -> tuple[Verdict, Reach] | None:
    """The verdict on one path through the strike (`points`, root first): to be ended, over
    (an ending already covers it), held by a crisis or by shadow mode, or nothing to do."""
    fp = points[-1]
    on_path = set(points)
    mine = [s for s in state.strikes if s.fingerprint in on_path]
    before = [s for s in mine if s != strike]
    reached = categories_at_threshold(policy, mine)
    newly = _newly(reached, categories_at_threshold(policy, before))
    would = _newly(
        categories_at_threshold(policy, mine, with_suppressed=True),
        categories_at_threshold(policy, before, with_suppressed=True),
    )
    own = fp == strike.fingerprint
    at = root if policy.lock_scope == "conversation" else fp
    reach = Reach(fp, at, reached, own or at == root)
    blocked = standing_level(policy, state.crisis, points)
    if reached and not blocked and (own or newly):
        if first_ending(state.endings, (WHOLE_CONVERSATION, *points)) is not None:
            return "over", reach
        if policy.shadow:
            return ("shadow", reach) if newly else None
        return "end", reach
    if would and (blocked or not reached):
        return blocked or _held_by(mine), replace(reach, categories=would)
    return None


def _outermost(reaches: Sequence[Reach], paths: Mapping[str, Sequence[str]]) -> tuple[Reach, ...]:
    """The reaches (shallowest first) that no earlier one covers: an ending on a path covers
    every path below it, so those need none of their own (nor a second count)."""
    kept: list[Reach] = []
    for reach in reaches:
        if not any(k.at == reach.at or k.at in paths[reach.point] for k in kept):
            kept.append(reach)
    return tuple(kept)


def _points(strike: Strike) -> tuple[str, ...]:
    """The points of a strike's path, root first, its own last (its own alone, if unknown)."""
    if strike.path and strike.path[-1] == strike.fingerprint:
        return strike.path
    return (*strike.path, strike.fingerprint)


def _struck_paths(strikes: Sequence[Strike]) -> dict[str, tuple[str, ...]]:
    """Each struck point's path: one fingerprint names one history, so one path (the longest
    recorded wins over strikes recorded without one)."""
    paths: dict[str, tuple[str, ...]] = {}
    for s in strikes:
        points = _points(s)
        if len(points) > len(paths.get(s.fingerprint, ())):
            paths[s.fingerprint] = points
    return paths


def _newly(now: tuple[str, ...], before: tuple[str, ...]) -> tuple[str, ...]:
    """The categories at the threshold now when some were not before (all of them), else ()."""
    return now if set(now) - set(before) else ()


def _held_by(strikes: Sequence[Strike]) -> CrisisLevel:
    """The level that held the suppressed strikes on a path off (crisis over distress)."""
    held = suppressed_source("crisis")
    crisis = any(s.source.removeprefix(SUSPECTED_PREFIX) == held for s in strikes)
    return "crisis" if crisis else "distress"
