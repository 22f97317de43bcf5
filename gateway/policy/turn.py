"""One answered turn, decided: what it marks, whether it strikes, whether the model's ending
stands, and whether the answer gets helplines late. A pure function of values.

The inspection writes, counts and logs the outcome; the strike's endings are decided after
its write (`strikes.decide_strike`), on the conversation as the store returns it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from gateway.detect import Flags
from gateway.policy.settings import Policy
from gateway.policy.standing import standing_level, strongest
from gateway.policy.strikes import (
    SUSPECTED_PREFIX,
    StrikeOutcome,
    is_suppressed,
    is_suspected,
    strike_category,
    suppressed_source,
)
from gateway.records import CrisisLevel, PathState

# Why a model's ending did not stand: a crisis or distress on the path, a path that holds
# no harmful request and no request to end (`unflagged`), fewer strikes than the model's
# ending needs (`early`: the user has not insisted through refusals), or shadow mode.
Suppression = Literal["crisis", "distress", "unflagged", "early", "shadow"]
MarkSource = Literal["user", "answer"]


@dataclass(frozen=True, slots=True)
class PathFacts:
    """The request's path before its answer: what the store held on it at the request's
    start, and its points (fingerprints), root first, the newest user turn's last."""

    state: PathState
    points: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class TurnSignals:
    """What the detectors found on the newest user turn; `end_request`: it asks to end the
    conversation (read only when the model ends it: nothing else needs it)."""

    flags: Flags
    end_request: bool = False


@dataclass(frozen=True, slots=True)
class AnswerSignals:
    """What the model's answer showed: how it refused (`provider`, `phrase`), whether it
    called the end tool, and the crisis categories its care points at (helplines, emergency
    numbers: the model as a witness)."""

    refusal: str | None = None
    model_ended: bool = False
    care: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Mark:
    """A crisis mark to record on the newest point: its level, category, and who showed it."""

    level: CrisisLevel
    category: str
    source: MarkSource


@dataclass(frozen=True, slots=True)
class StrikeCall:
    """The strike to record: its category, its source (how the model refused, or a
    suppressed source when `held_by` a crisis level: recorded for audit, never counted)."""

    category: str
    source: str
    held_by: CrisisLevel | None = None


@dataclass(frozen=True, slots=True)
class ModelEnding:
    """The model's own ending: where it goes (`at`), its categories, and why it does not
    stand (None: it does, unless the turn's strikes already decided the path)."""

    at: str
    categories: tuple[str, ...]
    suppressed: Suppression | None = None


@dataclass(frozen=True, slots=True)
class Outcome:
    """What one answered turn brings about.

    `marks`: crisis marks to record on the newest point. `strike`: the strike to record,
    if any. `model_ending`: the model's ending, when it called the end tool. `helplines`:
    the crisis category whose helplines the answer gets on its stop-reason event, when the
    crisis was recognised only in the answer and none were attached yet. `held_by`: the
    crisis level standing on the path with this turn counted (no ending while it stands).
    """

    marks: tuple[Mark, ...] = ()
    strike: StrikeCall | None = None
    model_ending: ModelEnding | None = None
    helplines: str | None = None
    held_by: CrisisLevel | None = None


def decide(policy: Policy, path: PathFacts, turn: TurnSignals, answer: AnswerSignals) -> Outcome:
    """Decide one answered turn on `path` (nothing written yet; see the module docstring).

    Crisis always wins: while a crisis or distress stands on the path, this turn included,
    a strike is recorded as suppressed and the model's ending does not stand.
    """
    marks = _marks(turn.flags, answer.care)
    before = standing_level(policy, path.state.crisis, path.points)
    held = strongest((before, *(mark.level for mark in marks)))
    strike = None
    struck = strike_category(turn.flags, answer.refusal, answer.model_ended)
    category = None if struck is None else struck.category
    if struck is not None:
        source = suppressed_source(held) if held else answer.refusal or "end_tool"
        source = SUSPECTED_PREFIX + source if struck.suspected else source
        strike = StrikeCall(struck.category, source, held)
    ending = None
    if answer.model_ended:
        ending = ModelEnding(
            path.points[0] if policy.lock_scope == "conversation" else path.points[-1],
            turn.flags.categories,
            _model_suppressed(policy, path, turn, held, category),
        )
    helplines = None
    witnessed = [m.category for m in marks if m.source == "answer"]
    if witnessed and not turn.flags.crisis and before != "crisis":
        helplines = witnessed[0]
    return Outcome(marks, strike, ending, helplines, held)


def model_ending_left(outcome: Outcome, struck: StrikeOutcome | None) -> ModelEnding | None:
    """The model's ending still to carry out (or count as suppressed) once the turn's strike
    was decided: none when that strike brought its own path to the threshold, which then
    decided the path (ended, already over, held or shadowed)."""
    if struck is not None and struck.reached:
        return None
    return outcome.model_ending


def _marks(flags: Flags, care: tuple[str, ...]) -> tuple[Mark, ...]:
    """One mark per category and level: confident crisis from the user turn, distress
    (where no crisis of that category), and crisis the answer showed (where the user
    turn showed none of that category)."""
    crisis = dict.fromkeys(m.category for m in flags.crisis)
    distress = [m.category for m in flags.distress if m.category not in crisis]
    witnessed = [c for c in care if c not in crisis]
    return (
        *(Mark("crisis", c, "user") for c in crisis),
        *(Mark("distress", c, "user") for c in dict.fromkeys(distress)),
        *(Mark("crisis", c, "answer") for c in dict.fromkeys(witnessed)),
    )


def _model_suppressed(
    policy: Policy,
    path: PathFacts,
    turn: TurnSignals,
    held: CrisisLevel | None,
    strike: str | None,
) -> Suppression | None:
    """Why the model's ending does not stand, or None: it stands on a path whose newest turn
    asks to end it, or that holds harmful requests (flagged now, or struck before) refused
    often enough (`Policy.model_end_strikes`); never while a crisis or distress stands;
    shadow mode only counts it. `strike`: the category of this turn's strike, if any."""
    if held is not None:
        return held
    if policy.model_end_requires_flag and not turn.end_request:
        # Suspected requests alone are no harmful request on the path.
        if not (turn.flags.harmful or any(not is_suspected(s) for s in path.state.strikes)):
            return "unflagged"
        if _strikes(path, strike) < _strikes_needed(policy, path, strike):
            return "early"
    return "shadow" if policy.shadow else None


def _strikes(path: PathFacts, strike: str | None) -> int:
    """The user turns struck on the path, this one included (a retried turn counts once)."""
    points = {s.fingerprint for s in path.state.strikes if not is_suppressed(s)}
    if strike is not None:
        points.add(path.points[-1])
    return len(points)


def _strikes_needed(policy: Policy, path: PathFacts, strike: str | None) -> int:
    """How many strikes the model's ending needs: `model_end_strikes`, or fewer where a
    category on the path ends at fewer."""
    categories = {s.category for s in path.state.strikes} | ({strike} if strike else set())
    return min([policy.model_end_strikes, *map(policy.category_threshold, categories)])
