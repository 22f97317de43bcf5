"""The ending policy as configured: thresholds, lock scope, shadow mode, how long a crisis
stands, and when the model's own ending is believed."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

LockScope = Literal["path", "conversation"]


@dataclass(frozen=True, slots=True)
class Policy:
    """The ending policy, as configured.

    `crisis_turns`: how many user turns after the one that raised it a crisis mark still
    stands; None (the default) keeps it standing for the rest of that path. The goal is
    that a person in crisis who also makes harmful requests is (almost) never cut off,
    however many turns they insist over: any finite window lets a long enough run of
    refused requests end the conversation after the window closes, and a person at risk
    does not stop being at risk after three turns. An edited branch that does not go through
    the marked turn carries no mark, so the cost is bounded to the path that showed it.

    `distress_turns`: the same for a distress mark, None by default too: a person in
    distress who then insists on harmful requests is never ended either. Distress is the
    wide net, so a false one early on holds endings off that path for good; an operator
    who would rather bound that cost sets a window here (a person still in distress goes
    on showing it, and each such turn marks again).

    `model_end_strikes`: how many strikes a path must hold, the ending turn's included, for
    the model's own ending over harmful requests to stand (a category's lower threshold
    lowers it). The behaviour modelled is a last resort after the user insisted through
    refusals; a model that ends at the first harmful request would cut off a person whose
    crisis only shows a turn or two later (a means asked for first, the despair after). At
    the default, the model's ending adds no ending the strikes would not bring themselves;
    1 believes it on one flagged turn. An ending the user asked for stands regardless.
    """

    threshold: int = 3
    category_thresholds: Mapping[str, int] = field(default_factory=dict)
    lock_scope: LockScope = "path"
    shadow: bool = False
    crisis_turns: int | None = None
    distress_turns: int | None = None
    model_end_requires_flag: bool = True
    model_end_strikes: int = 3

    def category_threshold(self, category: str) -> int:
        """How many strikes of `category` end a path."""
        return self.category_thresholds.get(category, self.threshold)
