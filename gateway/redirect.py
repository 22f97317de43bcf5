"""The crisis redirect: what a conversation in crisis gets instead of being cut off.

Per crisis category, configurable actions: `guide` appends care guidance, in the person's
language, to the system prompt sent upstream while the crisis stands; `resources` attaches
the local helplines to the answer of the turn that raised the crisis. Both by default.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from gateway import metrics
from gateway.crisis import CrisisDirectory
from gateway.inspection import Inspection
from gateway.logs import get_logger

log = get_logger("lastword.audit")
Action = Literal["guide", "resources"]
DEFAULT_ACTIONS: tuple[Action, ...] = ("guide", "resources")


@dataclass(frozen=True, slots=True)
class Redirect:
    """What one request in crisis gets: guidance for the model, resources for the person."""

    category: str
    guidance: str | None
    resources: dict[str, Any] | None


@dataclass(frozen=True, slots=True)
class Redirector:
    """Plans redirects from the crisis directory and the configured actions."""

    directory: CrisisDirectory
    actions: Mapping[str, tuple[Action, ...]]
    country_header: str | None = None
    default_country: str | None = None

    def language(self, headers: Mapping[str, str]) -> str:
        """The person's language, as the crisis texts would be written in."""
        locale = self.directory.resolve_locale(headers, self.country_header, self.default_country)
        return locale.language

    def plan(self, inspection: Inspection, headers: Mapping[str, str]) -> Redirect | None:
        """The redirect for this request, or None when no crisis stands on its path."""
        flagged = inspection.flags.crisis
        category = flagged[0].category if flagged else inspection.standing_crisis
        if category is None:
            return None
        actions = self.actions.get(category, DEFAULT_ACTIONS)
        locale = self.directory.resolve_locale(headers, self.country_header, self.default_country)
        guidance = None
        if "guide" in actions:
            guidance = self.directory.guidance(locale.language, category)
            metrics.CRISIS_REDIRECTS.labels(category, "guide").inc()
        resources = None
        if flagged and "resources" in actions:
            resources = self.directory.resources(locale, category)
            metrics.CRISIS_REDIRECTS.labels(category, "resources").inc()
        if flagged:
            log.warning(
                "crisis_redirect",
                conversation_id=inspection.identity.conversation_id,
                category=category,
                actions=list(actions),
                country=locale.country,
                language=locale.language,
                rules=[m.rule_id for m in flagged],
            )
        return Redirect(category, guidance, resources)

    def witness(
        self, inspection: Inspection, headers: Mapping[str, str]
    ) -> Callable[[str], dict[str, Any] | None]:
        """The helplines for a crisis only the answer showed (the model pointed the person to
        help), looked up when it does: localized as `plan` would, counted and logged."""

        def helplines(category: str) -> dict[str, Any] | None:
            if "resources" not in self.actions.get(category, DEFAULT_ACTIONS):
                return None
            locale = self.directory.resolve_locale(
                headers, self.country_header, self.default_country
            )
            metrics.CRISIS_REDIRECTS.labels(category, "resources").inc()
            log.warning(
                "crisis_redirect",
                conversation_id=inspection.identity.conversation_id,
                category=category,
                actions=["resources"],
                country=locale.country,
                language=locale.language,
                source="answer",
            )
            return self.directory.resources(locale, category)

        return helplines
