"""Strikes, endings, crisis precedence and shadow mode: pure decisions, no I/O.

`decide` reads one answered turn; `decide_strike` reads what a recorded strike brings on
its whole conversation. Both return values: the inspection writes, counts and logs them.
"""

from __future__ import annotations

from gateway.policy.settings import LockScope, Policy
from gateway.policy.standing import crisis_on, standing_level, standing_marks, strongest
from gateway.policy.strikes import (
    SUPPRESSED,
    SUSPECTED_PREFIX,
    Reach,
    StrikeOutcome,
    Struck,
    Verdict,
    categories_at_threshold,
    decide_strike,
    is_suppressed,
    is_suspected,
    strike_category,
    suppressed_source,
)
from gateway.policy.turn import (
    AnswerSignals,
    Mark,
    ModelEnding,
    Outcome,
    PathFacts,
    StrikeCall,
    Suppression,
    TurnSignals,
    decide,
    model_ending_left,
)

__all__ = [
    "SUPPRESSED",
    "SUSPECTED_PREFIX",
    "AnswerSignals",
    "LockScope",
    "Mark",
    "ModelEnding",
    "Outcome",
    "PathFacts",
    "Policy",
    "Reach",
    "StrikeCall",
    "StrikeOutcome",
    "Struck",
    "Suppression",
    "TurnSignals",
    "Verdict",
    "categories_at_threshold",
    "crisis_on",
    "decide",
    "decide_strike",
    "is_suppressed",
    "is_suspected",
    "model_ending_left",
    "standing_level",
    "standing_marks",
    "strike_category",
    "strongest",
    "suppressed_source",
]
