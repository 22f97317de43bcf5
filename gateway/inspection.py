"""One request's passage through the policy: identified and checked before the upstream,
recorded after the answer.

Guarantee: an ending is written to the store before any signal of it leaves, so a
signalled ending is an acknowledged ending.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from gateway import metrics
from gateway.conversation import Identity, continue_identity, identify, tenant_of
from gateway.detect import Flags, RuleSet, end_request, flag_turn_async, read_answer
from gateway.detect.classifier import Classifier, ClassifierVerdict
from gateway.detect.judgement import WINDOW_TURNS
from gateway.dialects import ChatRequest, Observation
from gateway.dialects.rewrite import END_TOOL
from gateway.errors import StoreUnavailable
from gateway.logs import get_logger
from gateway.policy import (
    AnswerSignals,
    ModelEnding,
    Outcome,
    PathFacts,
    Policy,
    StrikeCall,
    StrikeOutcome,
    TurnSignals,
    decide,
    decide_strike,
    model_ending_left,
    standing_level,
    standing_marks,
)
from gateway.records import (
    WHOLE_CONVERSATION,
    CrisisMark,
    Ending,
    PathState,
    ResponseLink,
    Strike,
)
from gateway.store import Store, StoreError

log = get_logger("lastword.audit")
# Links for OpenAI-side conversations live beside response links, under this prefix.
SERVER_CONVERSATION = "conversation:"
StoreFailure = Literal["open", "closed"]


@dataclass(frozen=True, slots=True)
class Recorded:
    """What an answer's stop-reason event carries, once the answer is recorded: the ending
    over the request's own path, and the crisis category whose helplines ride late."""

    ending: Ending | None = None
    helplines: str | None = None


NOTHING_RECORDED = Recorded()
# An answer with no refusal, no end-tool call and no care in it.
NOTHING_SEEN = AnswerSignals()


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
        self,
        headers: Mapping[str, str],
        chat: ChatRequest,
        family: str = "anthropic",
        *,
        large: bool = False,
        crowded: bool = False,
    ) -> Inspection:
        """Identify the request, scan its newest user turn, read its path in one round trip;
        a `large` request (its body parsed off the loop) is identified in a thread; in a
        `crowded` worker (other requests under way), its turn is scored beside theirs."""
        identity = await self._identify(headers, chat, family, large)
        newest = chat.turns[-1].text if identity.point is not None else ""
        # The user turns before it, read with it as one window (`detect.judgement`).
        earlier = [turn.text for turn in chat.turns[-1 - WINDOW_TURNS : -1]] if newest else []
        flags = await flag_turn_async(self.rules, newest, earlier, batch=crowded)
        # A turn counts once per category, however many rules and the model agree on it.
        found: dict[tuple[str, str], None] = dict.fromkeys(
            (m.kind, m.category) for m in (*flags.harmful, *flags.crisis)
        )
        found |= dict.fromkeys(("suspected", m.category) for m in flags.suspected)
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
        self, headers: Mapping[str, str], chat: ChatRequest, family: str, large: bool = False
    ) -> Identity:
        """Place the request in its conversation (following previous_response_id, if any);
        when `large`, its turns are hashed in a thread (a megabyte holds a loop 1.5 ms)."""
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
                inherited = (link.conversation_id, link.path)
                if large:
                    return await asyncio.to_thread(
                        continue_identity, tenant, *inherited, chat.turns, alias
                    )
                return continue_identity(tenant, *inherited, chat.turns, alias)
        if large:
            return await asyncio.to_thread(
                identify, tenant, chat.system, chat.turns, alias, chat.end_user
            )
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
        # The newest user turn's text, read again only when the model calls the end tool
        # (whether the person asked to end the conversation).
        self.turn_text = ""

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
        """The category of a confident crisis marked on this path and still standing (the
        model gets care guidance while it stands), if any."""
        marks = standing_marks(self.guard.policy, self.state.crisis, self.identity.path)
        crises = [mark for mark in marks if mark.level == "crisis"]
        return crises[-1].category if crises else None

    @property
    def endings_held(self) -> bool:
        """Whether a crisis or distress stands on this path, this turn included: no ending
        can stand, so the model is offered no end tool."""
        if self.flags.crisis or self.flags.distress:
            return True
        return standing_level(self.guard.policy, self.state.crisis, self.identity.path) is not None

    def conversation(self) -> dict[str, Any]:
        """The `conversation` object for this request's answer."""
        return conversation_object(self.identity, self.ending or self.ended)

    async def record(self, observation: Observation, *, own_end_tool: bool) -> Recorded:
        """Record what the answer means for the conversation; return the signals its
        stop-reason event carries: the ending this turn brought over its own path, if any,
        and the crisis category whose helplines it gets late, if any.

        Endings it brings on deeper paths (strikes recorded below this one, by requests in
        flight at the same time) are written and counted, not returned: they do not cover
        this request's path. `own_end_tool` says whether the end tool was the gateway's
        offer (else the client's).
        """
        ident = self.identity
        point = ident.point
        if point is None:
            return NOTHING_RECORDED
        await self.classified()
        if self.links_responses and observation.response_id:
            await self._link(observation.response_id)
            if self.server_conversation:
                await self._link(
                    observation.response_id, SERVER_CONVERSATION + self.server_conversation
                )
        answer = self._answer(observation)
        if answer == NOTHING_SEEN and not (self.flags.crisis or self.flags.distress):
            # Nothing to mark (no crisis on the turn or in the answer), no refusal and no
            # end tool, so no strike and no ending: `decide` would bring nothing about.
            return Recorded(self.ending)
        outcome = decide(
            self.guard.policy, PathFacts(self.state, ident.path), self._turn(answer), answer
        )
        try:
            await self._carry_out(outcome, own_end_tool)
        except StoreError as exc:
            log.error("store_error", error=str(exc), during="record")
            return Recorded(None, outcome.helplines)
        return Recorded(self.ending, outcome.helplines)

    def _turn(self, answer: AnswerSignals) -> TurnSignals:
        """The newest user turn's signals; whether it asks to end the conversation is read
        only when the model ended it (nothing else needs it)."""
        asked = answer.model_ended and end_request(self.guard.rules, self.turn_text)
        return TurnSignals(self.flags, asked)

    def _answer(self, observation: Observation) -> AnswerSignals:
        """What the answer shows (refusal, end tool, care), counted."""
        model_ended = any(call.name == END_TOOL for call in observation.tool_calls)
        refusal, care = read_answer(self.guard.rules, observation)
        if refusal is not None:
            metrics.REFUSALS.labels(refusal).inc()
        if model_ended:
            metrics.REFUSALS.labels("end_tool").inc()
        for match in care:
            metrics.DETECTOR_MATCHES.labels(match.kind, match.category).inc()
        categories = tuple(dict.fromkeys(match.category for match in care))
        return AnswerSignals(refusal, model_ended, categories)

    async def _carry_out(self, outcome: Outcome, own_end_tool: bool) -> None:
        """Write, count and log what the turn brings: marks, then the strike and the endings
        it brings, then the model's ending (when the strike left the path undecided)."""
        ident = self.identity
        point = ident.point
        assert point is not None  # a recorded request has a user turn
        now = time.time()
        for mark in outcome.marks:
            record = CrisisMark(
                ident.tenant, ident.conversation_id, point, mark.category, now, mark.level
            )
            async with metrics.store_operation("mark_crisis"):
                await self.guard.store.mark_crisis(record)
            if mark.source == "answer" or mark.level == "distress":
                log.warning(
                    "crisis_marked",
                    conversation_id=ident.conversation_id,
                    category=mark.category,
                    level=mark.level,
                    source=mark.source,
                )
        struck = None
        if outcome.strike is not None:
            struck = await self._strike(outcome.strike, now, own_end_tool)
        ending = model_ending_left(outcome, struck)
        if ending is not None:
            await self._model_end(ending, now, own_end_tool)

    async def _model_end(self, ending: ModelEnding, now: float, own_end_tool: bool) -> None:
        """Write the model's ending, or count and log why it does not stand."""
        ident = self.identity
        fields = {
            "conversation_id": ident.conversation_id,
            "reason": "model",
            "categories": list(ending.categories),
        }
        if ending.suppressed == "shadow":
            metrics.ENDINGS_SUPPRESSED.labels("shadow").inc()
            log.info("ending_shadowed", **fields)
            return
        if ending.suppressed is not None:
            metrics.ENDINGS_SUPPRESSED.labels(ending.suppressed).inc()
            log.warning("ending_suppressed", suppressed_by=ending.suppressed, **fields)
            return
        record = Ending(
            ident.tenant, ident.conversation_id, ending.at, "model", ending.categories, now
        )
        self.ending = await self._write_ending(record, own_end_tool)

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

    async def _strike(self, call: StrikeCall, now: float, own_end_tool: bool) -> StrikeOutcome:
        """Record a strike and carry out what it brings, decided on the conversation as it
        stands right after the write.

        A strike held by a crisis or distress does not count: it is recorded as suppressed
        (for audit), and the ending it would have brought is counted and logged as
        suppressed.
        """
        ident = self.identity
        assert ident.root is not None  # a struck request has a user turn
        assert ident.point is not None
        strike = Strike(
            ident.tenant,
            ident.conversation_id,
            ident.point,
            call.category,
            call.source,
            now,
            ident.path,
        )
        rules = [m.rule_id for m in self.flags.harmful or self.flags.suspected]
        await self._alias()
        async with metrics.store_operation("add_strike"):
            state = await self.guard.store.add_strike(strike)
        self.state = state.on((*ident.path, WHOLE_CONVERSATION))
        fields = {"conversation_id": ident.conversation_id, "category": strike.category}
        if call.held_by is not None:
            log.info("strike_suppressed", rules=rules, held_by=call.held_by, **fields)
        else:
            metrics.STRIKES.labels(strike.category).inc()
            log.info("strike", source=strike.source, rules=rules, **fields)
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
        return outcome

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
