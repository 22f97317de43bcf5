"""The policy's pure decisions: strikes, thresholds, crisis precedence."""

from __future__ import annotations

import pytest

from gateway.detect import Flags, Match
from gateway.policy import (
    SUPPRESSED,
    Policy,
    categories_at_threshold,
    crisis_stands,
    strike_category,
)
from gateway.store import CrisisMark, Strike

HARM = Match("r1", "weapons", "harmful")
CRISIS = Match("c1", "self_harm", "crisis")


@pytest.mark.parametrize(
    ("flags", "refusal", "model_ended", "expected"),
    [
        (Flags((HARM,)), "provider", False, "weapons"),
        (Flags((HARM,)), "phrase", False, "weapons"),
        (Flags((HARM,)), None, True, "weapons"),
        (Flags((HARM,)), None, False, None),  # flagged but answered
        (Flags(), "provider", False, None),  # refused but not flagged: over-refusal
        (Flags(crisis=(CRISIS,)), "provider", False, None),  # crisis is no strike
    ],
)
def test_a_strike_needs_a_flag_and_a_refusal(
    flags: Flags, refusal: str | None, model_ended: bool, expected: str | None
) -> None:
    """Detectors alone or a refusal alone are not strikes."""
    assert strike_category(flags, refusal, model_ended) == expected


def _strikes(*categories: str) -> list[Strike]:
    return [
        Strike("t", "conv_x", f"fp{i}", c, "provider", float(i)) for i, c in enumerate(categories)
    ]


@pytest.mark.parametrize(
    ("policy", "categories", "expected"),
    [
        (Policy(), ("weapons", "weapons"), ()),
        (Policy(), ("weapons", "weapons", "weapons"), ("weapons",)),
        (Policy(), ("weapons", "csam", "abuse"), ("abuse", "csam", "weapons")),
        (Policy(category_thresholds={"csam": 1}), ("csam",), ("csam",)),
        (Policy(category_thresholds={"csam": 1}), ("weapons",), ()),
        (Policy(threshold=5), ("weapons",) * 4, ()),
        (Policy(category_thresholds={"abuse": 10}), ("abuse",) * 3, ()),
        (Policy(category_thresholds={"abuse": 10}), ("abuse",) * 10, ("abuse",)),
        (Policy(category_thresholds={"abuse": 5}), ("abuse", "abuse", "weapons"), ()),
    ],
)
def test_endings_by_threshold_and_per_category_override(
    policy: Policy, categories: tuple[str, ...], expected: tuple[str, ...]
) -> None:
    """The default threshold counts all strikes; a category override ends on its own count."""
    assert categories_at_threshold(policy, _strikes(*categories)) == expected


def test_retrying_one_turn_counts_one_strike() -> None:
    """The same refused turn sent three times (regenerate, retries) is one strike, not three."""
    retried = [Strike("t", "c", "fp1", "weapons", "provider", float(i)) for i in range(3)]
    assert categories_at_threshold(Policy(), retried) == ()
    assert categories_at_threshold(Policy(threshold=1), retried) == ("weapons",)


def test_strikes_suppressed_by_a_crisis_count_only_for_what_would_have_been() -> None:
    """Strikes recorded during a crisis never end a conversation; they show what would have."""
    strikes = [Strike("t", "c", f"fp{i}", "weapons", SUPPRESSED, float(i)) for i in range(3)]
    assert categories_at_threshold(Policy(), strikes) == ()
    assert categories_at_threshold(Policy(), strikes, with_suppressed=True) == ("weapons",)


def test_a_crisis_stands_for_the_configured_number_of_user_turns() -> None:
    """A crisis mark stands on its own turn and the next `crisis_turns` user turns."""
    path = [f"fp{i}" for i in range(5)]
    mark = [CrisisMark("t", "conv_x", "fp1", "self_harm", 0.0)]
    assert crisis_stands(Policy(crisis_turns=3), mark, path)
    assert not crisis_stands(Policy(crisis_turns=2), mark, path)
    assert not crisis_stands(Policy(), [], path)
