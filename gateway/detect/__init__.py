"""What turns traffic into signals: rule packs on user turns, refusals in answers."""

from __future__ import annotations

from dataclasses import dataclass

from gateway.detect.folding import fold
from gateway.detect.rules import Match, RuleError, RuleSet, load_rules
from gateway.dialects.base import Observation

__all__ = [
    "Flags",
    "Match",
    "RuleError",
    "RuleSet",
    "flag_turn",
    "fold",
    "load_rules",
    "refusal_source",
]


@dataclass(frozen=True, slots=True)
class Flags:
    """What the detectors found on the newest user turn."""

    harmful: tuple[Match, ...] = ()
    crisis: tuple[Match, ...] = ()

    @property
    def categories(self) -> tuple[str, ...]:
        """Every flagged category, harmful first."""
        return tuple(dict.fromkeys(m.category for m in (*self.harmful, *self.crisis)))


NO_FLAGS = Flags()


def flag_turn(rules: RuleSet, text: str) -> Flags:
    """Scan one user turn's text, folded (`folding.fold`), for harmful requests and crisis."""
    if not text:
        return NO_FLAGS
    harmful, crisis = rules.scan_user_turn(fold(text))
    return Flags(harmful, crisis) if harmful or crisis else NO_FLAGS


def refusal_source(rules: RuleSet, observation: Observation) -> str | None:
    """How the model refused, if it did: `provider` signals first, then `phrase`."""
    if observation.provider_refusal:
        return "provider"
    if observation.text_head and rules.scan(fold(observation.text_head), "refusal"):
        return "phrase"
    return None
