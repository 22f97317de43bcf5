"""The flags of the newest user turn: rule packs and the embedded model, on the turn alone
and on its window.

The newest turn is read alone, and in a **window** with the two user turns before it (the
last `WINDOW_TAIL_CHARS` of each, then the first `WINDOW_HEAD_CHARS` of the newest, one
turn a line), so a request split across turns is seen whole; a hit in the window flags the
newest turn. Both readings go through the rules and the model.

Levels: a rule match or a model score over the model's `crisis` threshold is a confident
crisis signal (`Flags.crisis`); `Flags.distress` holds those and every crisis category
over the lower `distress` threshold. A harmful category is flagged by a rule or a score
over its `harmful` threshold. Model matches are named `model.<category>`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Final

from gateway.detect.folding import fold
from gateway.detect.model import TextModel
from gateway.detect.rules import Kind, Match, RuleSet

WINDOW_TURNS: Final = 2
WINDOW_TAIL_CHARS: Final = 500
WINDOW_HEAD_CHARS: Final = 1000


@dataclass(frozen=True, slots=True)
class Flags:
    """What the detectors found on the newest user turn."""

    harmful: tuple[Match, ...] = ()
    crisis: tuple[Match, ...] = ()
    """Confident crisis signals: helplines and care guidance."""
    distress: tuple[Match, ...] = ()
    """Recall-first crisis signals (a wide net): they only hold endings off the path."""

    @property
    def categories(self) -> tuple[str, ...]:
        """Every flagged category, harmful first."""
        return tuple(dict.fromkeys(m.category for m in (*self.harmful, *self.crisis)))


NO_FLAGS = Flags()


def window(text: str, earlier: Sequence[str]) -> str:
    """The newest turn's window: the ends of the turns before it, then its own start."""
    before = _before(earlier)
    return f"{before}\n{text[:WINDOW_HEAD_CHARS]}" if before else ""


def _before(earlier: Sequence[str]) -> str:
    """The ends of the turns before the newest, one a line: what its window adds to it."""
    return "\n".join(turn[-WINDOW_TAIL_CHARS:] for turn in earlier[-WINDOW_TURNS:] if turn)


def work(text: str, earlier: Sequence[str]) -> int:
    """How many characters the rules read for this turn: the turn, its window, and what the
    window adds."""
    joined = window(text, earlier)
    return len(text) + (len(joined) + len(_before(earlier)) if joined else 0)


@dataclass(frozen=True, slots=True)
class _Reading:
    """What the rules and the model find in one text."""

    harmful: tuple[Match, ...]
    crisis: tuple[Match, ...]
    scores: Mapping[str, float]


def judge(rules: RuleSet, text: str, earlier: Sequence[str] = ()) -> Flags:
    """The flags of the newest user turn `text`, read alone and in its window.

    A hit in the window counts only when the earlier turns alone do not hold it: the
    newest turn completes it. A request flagged two turns ago does not flag every turn
    after it, nor does a crisis signal stand longer than policy says.
    """
    if not text:
        return NO_FLAGS
    texts = [fold(text)]
    joined = window(text, earlier)
    if joined:
        texts += [fold(joined), fold(_before(earlier))]
    model = rules.model
    scores = model.score(texts) if model is not None else [{} for _ in texts]
    readings = [
        _Reading(*rules.scan_user_turn(folded), found)
        for folded, found in zip(texts, scores, strict=True)
    ]
    alone = readings[0]
    harmful = list(alone.harmful)
    crisis = list(alone.crisis)
    if joined:
        whole, before = readings[1], readings[2]
        harmful += [m for m in whole.harmful if m not in before.harmful]
        crisis += [m for m in whole.crisis if m not in before.crisis]
    distress = list(crisis)
    if model is not None:
        harmful += _over(model, readings, "harmful", "harmful")
        crisis += _over(model, readings, "crisis", "crisis")
        distress += crisis + _over(model, readings, "distress", "crisis")
    if not (harmful or distress):
        return NO_FLAGS
    return Flags(_once(harmful), _once(crisis), _once(distress))


def _over(model: TextModel, readings: Sequence[_Reading], level: str, kind: Kind) -> list[Match]:
    """A match for every category whose score reaches its threshold at `level`: on the turn
    alone, or on its window when the earlier turns alone stay under it."""
    out = []
    for category, threshold in model.thresholds.get(level, {}).items():
        alone = readings[0].scores[category] >= threshold
        completed = len(readings) == 3 and (
            readings[1].scores[category] >= threshold > readings[2].scores[category]
        )
        if alone or completed:
            out.append(Match(f"model.{category}", category, kind))
    return out


def _once(matches: Iterable[Match]) -> tuple[Match, ...]:
    return tuple(dict.fromkeys(matches))
