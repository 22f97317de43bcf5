"""One request's passage through the policy: identified and checked before the upstream,
recorded after the answer.

Guarantee: an ending is written to the store before any signal of it leaves, so a
signalled ending is an acknowledged ending.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any, Literal

from gateway import metrics
from gateway.conversation import Identity, continue_identity, identify, tenant_of
from gateway.detect import Flags, RuleSet, flag_turn_async, refusal_source
from gateway.detect.classifier import Classifier, ClassifierVerdict
from gateway.detect.judgement import WINDOW_TURNS
from gateway.dialects import ChatRequest, Observation
from gateway.dialects.rewrite import END_TOOL
from gateway.errors import StoreUnavailable
from gateway.logs import get_logger
from gateway.policy import (
    SUPPRESSED,
    Policy,
    crisis_on,
    decide_strike,
    strike_category,
)
from gateway.store import (
    WHOLE_CONVERSATION,
    CrisisMark,
    Ending,
    PathState,
    ResponseLink,
    Store,
    StoreError,
    Strike,
)

log = get_logger("lastword.audit")
# Links for OpenAI-side conversations live beside response links, under this prefix.
SERVER_CONVERSATION = "conversation:"
StoreFailure = Literal["open", "closed"]


def _iso(at: float) -> str:
    return datetime.fromtimestamp(at, UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def conversation_object(identity: Identity, ending: Ending | None) -> dict[str, Any]:
    """The `conversation` object clients read: id, status and, once ended, when and why."""
    out: dict[str, Any] = {"id": identity.conversation_id, "status": "active"}
    if identity.alias:
        out["alias"] = identity.alias
    if ending is not None:
        out.update(status="ended", ended_at=_iso(ending.at), reason=ending.reason)
    return out


@dataclass(slots=True)
class Guard:
    """What every inspection needs: the store, the rules, the policy.

    `rules` is swapped whole on a reload; a request keeps the set it started with.
    """

    store: Store
    rules: RuleSet
    policy: Policy
    store_failure: StoreFailure = "open"
    tenant_header: str | None = None
    classifier: Classifier | None = None

    async def begin(
        self, headers: Mapping[str, str], chat: ChatRequest, family: str = "anthropic"
    ) -> Inspection:
        """Identify the request, scan its newest user turn, read its path in one round trip."""
        identity = await self._identify(headers, chat, family)
        newest = chat.turns[-1].text if identity.point is not None else ""
        # The user turns before it, read with it as one window (`detect.judgement`).
        earlier = [turn.text for turn in chat.turns[-1 - WINDOW_TURNS : -1]] if newest else []
        flags = await flag_turn_async(self.rules, newest, earlier)
        # A turn counts once per category, however many rules and the model agree on it.
        found = dict.fromkeys((m.kind, m.category) for m in (*flags.harmful, *flags.crisis))
        for kind, category in found:
            metrics.DETECTOR_MATCHES.labels(kind, category).inc()
        inspection = Inspection(self, identity, flags)
        if self.classifier is not None and newest and identity.point is not None:
            # Runs beside the path read (and, failing open, beside the upstream call: its
            # verdict is awaited when the answer is recorded). Held by the inspection, so it
            # is never collected mid-flight.
            call = self.classifier.classify(newest, identity.point)
            inspection.pending = asyncio.create_task(call, name="classify-turn")
        try:
            async with metrics.store_operation("path_state"):
                inspection.state = await self.store.path_state(
                    identity.tenant,
                    identity.conversation_id,
                    (*identity.path, WHOLE_CONVERSATION),
                )
        except StoreError as exc:
            inspection.discard()
            inspection.store_failed(exc)
        fail_closed = self.classifier is not None and not self.classifier.settings.fail_open
        if fail_closed and inspection.ended is None:
            # Failing closed means nothing unclassified is served: wait for the verdict (an
            # ended path is answered at once, classified or not).
            try:
                await inspection.classified()
            except BaseException:
                inspection.discard()
                raise
        return inspection

    async def _identify(
        self, headers: Mapping[str, str], chat: ChatRequest, family: str
    ) -> Identity:
        """Place the request in its conversation (following previous_response_id, if any)."""
        tenant = tenant_of(headers, self.tenant_header, family=family)
        alias = headers.get("x-conversation-id")
        # A Responses request may carry only its new input and name where the rest is kept
        # upstream: an earlier response, or an OpenAI-side conversation.
        continued = chat.previous_response_id or (
            SERVER_CONVERSATION + chat.server_conversation if chat.server_conversation else None
        )
        if continued:
            try:
                async with metrics.store_operation("linked_response"):
                    link = await self.store.linked_response(tenant, continued)
            except StoreError as exc:
                link = None
                log.error("store_error", error=str(exc), during="linked_response")
                if self.store_failure == "closed":
                    raise StoreUnavailable("The conversation store is unavailable.") from None
            if link is not None:
                return continue_identity(tenant, link.conversation_id, link.path, chat.turns, alias)
        return identify(tenant, chat.system, chat.turns, alias, chat.end_user)


class Inspection:
    """The policy's view of one request, from its check to its record."""

    def __init__(self, guard: Guard, identity: Identity, flags: Flags) -> None:
        self.guard = guard
        self.identity = identity
        self.flags = flags
        self.state = PathState()
        self.ending: Ending | None = None
        self.pending: asyncio.Task[ClassifierVerdict] | None = None
        # Set for Responses requests whose answers can be continued by id, and the
        # OpenAI-side conversation they belong to, if any.
        self.links_responses = False
        self.server_conversation: str | None = None

    def discard(self) -> None:
        """Drop work started for this request that no one will wait for now."""
        if self.pending is not None and not self.pending.done():
            self.pending.cancel()

    async def classified(self) -> None:
        """Fold the external classifier's verdict into the flags, once it is in."""
        if self.pending is None:
            return
        verdict = await self.pending
        self.pending = None
        for match in verdict.matches:
            metrics.DETECTOR_MATCHES.labels(match.kind, match.category).inc()
        self.flags = verdict.merged(self.flags)

    def store_failed(self, exc: StoreError) -> None:
        """Serve on (fail open) or refuse with a 503 (fail closed)."""
        log.error("store_error", error=str(exc), policy=self.guard.store_failure)
        if self.guard.store_failure == "closed":
            raise StoreUnavailable("The conversation store is unavailable.") from None

    @property
    def ended(self) -> Ending | None:
        """The standing ending on this path, when policy enforces it."""
        return None if self.guard.policy.shadow else self.state.ending

    @property
    def standing_crisis(self) -> str | None:
        """The category of a crisis marked on this path and still standing, if any."""
        ident = self.identity
        marks = self.state.crisis
        if not crisis_on(self.guard.policy, marks, ident.path):
            return None
        return marks[-1].category

    @property
    def in_crisis(self) -> bool:
        """Whether a crisis signal stands on this path (including the newest turn)."""
        ident = self.identity
        if self.flags.crisis:
            return True
        policy = self.guard.policy
        return crisis_on(policy, self.state.crisis, ident.path)

    def conversation(self) -> dict[str, Any]:
        """The `conversation` object for this request's answer."""
        return conversation_object(self.identity, self.ending or self.ended)

    async def record(self, observation: Observation, *, own_end_tool: bool) -> Ending | None:
        """Record what the answer means for the conversation; return the ending this turn
        brought over its own path, if any (to be signalled in band).

        Endings it brings on deeper paths (strikes recorded below this one, by requests in
        flight at the same time) are written and counted, not returned: they do not cover
        this request's path. `own_end_tool` says whether the end tool was the gateway's
        offer (else the client's).
        """
        ident = self.identity
        point = ident.point
        if point is None:
            return None
        await self.classified()
        if self.links_responses and observation.response_id:
            await self._link(observation.response_id)
            if self.server_conversation:
                await self._link(
                    observation.response_id, SERVER_CONVERSATION + self.server_conversation
                )
        model_ended = any(call.name == END_TOOL for call in observation.tool_calls)
        refusal = refusal_source(self.guard.rules, observation)
        if refusal is not None:
            metrics.REFUSALS.labels(refusal).inc()
        if model_ended:
            metrics.REFUSALS.labels("end_tool").inc()
        category = strike_category(self.flags, refusal, model_ended)
        now = time.time()
        try:
            for match in self.flags.crisis:
                mark = CrisisMark(ident.tenant, ident.conversation_id, point, match.category, now)
                async with metrics.store_operation("mark_crisis"):
                    await self.guard.store.mark_crisis(mark)
            reached = False
            if category is not None:
                strike = Strike(
                    ident.tenant,
                    ident.conversation_id,
                    point,
                    category,
                    refusal or "end_tool",
                    now,
                    ident.path,
                )
                reached = await self._strike(strike, now, own_end_tool)
            if model_ended and not reached and self.ending is None:
                if self._model_may_end():
                    await self._end("model", self.flags.categories, now, own_end_tool)
                else:
                    metrics.ENDINGS_SUPPRESSED.labels("unflagged").inc()
                    log.warning(
                        "ending_suppressed",
                        suppressed_by="unflagged",
                        reason="model",
                        conversation_id=ident.conversation_id,
                    )
            return self.ending
        except StoreError as exc:
            log.error("store_error", error=str(exc), during="record")
            return None

    def _model_may_end(self) -> bool:
        """Whether the model's own ending stands: by default only on a path that holds a
        harmful request (flagged now, or struck before), so an over-eager model adds no
        false endings either."""
        if not self.guard.policy.model_end_requires_flag:
            return True
        return bool(self.flags.harmful or self.state.strikes)

    async def _link(self, response_id: str, key: str | None = None) -> None:
        """Remember where this answer leaves the conversation.

        Written before the answer's last event leaves: a client continuing by this id at
        once must find it, or the continuation would look like a new conversation.
        """
        ident = self.identity
        link = ResponseLink(
            ident.tenant,
            key or response_id,
            ident.conversation_id,
            ident.path,
            time.time(),
        )
        try:
            async with metrics.store_operation("link_response"):
                await self.guard.store.link_response(link)
        except StoreError as exc:
            log.error("store_error", error=str(exc), during="link_response")

    async def _alias(self) -> None:
        ident = self.identity
        if ident.alias:
            async with metrics.store_operation("set_alias"):
                await self.guard.store.set_alias(ident.tenant, ident.conversation_id, ident.alias)

    async def _strike(self, strike: Strike, now: float, own_end_tool: bool) -> bool:
        """Record a strike and carry out what it brings, decided on the conversation as it
        stands right after the write; return whether this path stands at the threshold.

        While a crisis stands no strike counts: it is recorded as suppressed (for audit), and
        the ending it would have brought is counted and logged as suppressed.
        """
        ident = self.identity
        rules = [m.rule_id for m in self.flags.harmful]
        if self.in_crisis:
            strike = replace(strike, source=SUPPRESSED)
        await self._alias()
        async with metrics.store_operation("add_strike"):
            state = await self.guard.store.add_strike(strike)
        self.state = state.on((*ident.path, WHOLE_CONVERSATION))
        fields = {"conversation_id": ident.conversation_id, "category": strike.category}
        if strike.source == SUPPRESSED:
            log.info("strike_suppressed", rules=rules, **fields)
        else:
            metrics.STRIKES.labels(strike.category).inc()
            log.info("strike", source=strike.source, rules=rules, **fields)
        assert ident.root is not None  # a struck request has a user turn
        outcome = decide_strike(self.guard.policy, state, strike, ident.root)
        for reason, reach in outcome.suppressed:
            metrics.ENDINGS_SUPPRESSED.labels(reason).inc()
            held = {**fields, "categories": list(reach.categories), "below": not reach.own}
            if reason == "shadow":
                log.info("ending_shadowed", reason="strikes", **held)
            else:
                log.warning("ending_suppressed", suppressed_by=reason, reason="strikes", **held)
        if outcome.standing is not None:
            self.ending = outcome.standing
        for reach in outcome.end:
            ending = Ending(
                ident.tenant, ident.conversation_id, reach.at, "strikes", reach.categories, now
            )
            stored = await self._write_ending(ending, own_end_tool, below=not reach.own)
            if reach.own:
                self.ending = stored
        return outcome.reached

    async def _end(
        self, reason: str, categories: tuple[str, ...], now: float, own_end_tool: bool
    ) -> None:
        """End this request's path for `reason`, unless a crisis stands or policy shadows."""
        ident = self.identity
        policy = self.guard.policy
        fields = {
            "conversation_id": ident.conversation_id,
            "reason": reason,
            "categories": list(categories),
        }
        if self.in_crisis:
            metrics.ENDINGS_SUPPRESSED.labels("crisis").inc()
            log.warning("ending_suppressed", suppressed_by="crisis", **fields)
            return
        if policy.shadow:
            metrics.ENDINGS_SUPPRESSED.labels("shadow").inc()
            log.info("ending_shadowed", **fields)
            return
        at = ident.root if policy.lock_scope == "conversation" else ident.point
        assert at is not None
        ending = Ending(ident.tenant, ident.conversation_id, at, reason, categories, now)
        self.ending = await self._write_ending(ending, own_end_tool)

    async def _write_ending(
        self, ending: Ending, own_end_tool: bool, below: bool = False
    ) -> Ending:
        """Write `ending`; return the one standing there (it, unless another writer was first).

        Only the writer that created it counts and logs it, so an ending is counted once
        however many requests reach it together. `below` marks an ending on a deeper path
        than the request's own (it completed a path struck below it).
        """
        await self._alias()
        async with metrics.store_operation("end"):
            stored = await self.guard.store.end(ending)
        if stored == ending:
            metrics.ENDINGS.labels(ending.reason).inc()
            log.warning(
                "conversation_ended",
                own_end_tool=own_end_tool,
                conversation_id=ending.conversation_id,
                reason=ending.reason,
                categories=list(ending.categories),
                below=below,
            )
        return stored
