"""Which crisis level stands on a path: the marks on its points, within `crisis_turns`
(`distress_turns` for distress marks)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from gateway.policy.settings import Policy
from gateway.records import CrisisLevel, CrisisMark


def standing_marks(
    policy: Policy, marks: Sequence[CrisisMark], points: Sequence[str]
) -> tuple[CrisisMark, ...]:
    """The marks that stand on a path given by its points, root first: marked on the last
    point or one of the `crisis_turns` (`distress_turns`) points before it (any point,
    when None)."""
    if not marks:
        return ()
    recent = {
        "crisis": _window(points, policy.crisis_turns),
        "distress": _window(points, policy.distress_turns),
    }
    return tuple(mark for mark in marks if mark.fingerprint in recent[mark.level])


def _window(points: Sequence[str], turns: int | None) -> set[str]:
    """The last point and the `turns` before it (every point, when None)."""
    return set(points if turns is None else points[-(turns + 1) :])


def strongest(levels: Iterable[CrisisLevel | None]) -> CrisisLevel | None:
    """`crisis` over `distress` over nothing."""
    found = set(levels)
    if "crisis" in found:
        return "crisis"
    return "distress" if "distress" in found else None


def standing_level(
    policy: Policy, marks: Sequence[CrisisMark], points: Sequence[str]
) -> CrisisLevel | None:
    """The strongest crisis level standing on the path, or None."""
    return strongest(mark.level for mark in standing_marks(policy, marks, points))


def crisis_on(policy: Policy, marks: Sequence[CrisisMark], points: Sequence[str]) -> bool:
    """Whether a crisis signal of either level stands on the path."""
    return bool(standing_marks(policy, marks, points))
