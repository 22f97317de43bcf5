"""One response's watcher and editor: every event is read, the few that carry signals change.

Guarantee: an event is changed only to add the gateway's signals (`crisis_resources` on the
first event, `conversation_ended` on the event with the stop reason, and the visible notice
where the operator turned it on) or to take out the gateway's own end-tool call; every
other byte reaches the client exactly as the upstream sent it.
An event the gateway cannot read or edit is passed on as it came and counted, and the
watching goes on: one odd event costs neither the stream nor what follows it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import orjson

from gateway import metrics
from gateway.dialects import Dialect, EventRole, SseEvent
from gateway.dialects.base import JSONObject
from gateway.dialects.end_tool import DROP, ODD, EndToolFilter
from gateway.dialects.notice_events import NoticeWriter
from gateway.inspection import Inspection
from gateway.logs import get_logger
from gateway.notice import notice_text
from gateway.sse import encode_event

log = get_logger("lastword.editor")

# The stream has said its last word: its stop reason, its closing event, or an error.
_DONE = (EventRole.FINAL, EventRole.STOP, EventRole.ERROR)


class ResponseEditor:
    """Reads one answer, stream or body, and writes the gateway's signals into it."""

    def __init__(
        self,
        dialect: Dialect,
        inspection: Inspection,
        *,
        own_end_tool: bool,
        resources: JSONObject | None = None,
        named_events: bool = False,
        notice_language: str | None = None,
        helplines: Callable[[str], JSONObject | None] | None = None,
    ) -> None:
        """`resources`: the helplines for the first event; `named_events`: the client asked
        for named signal events; `notice_language`: write the visible notice, in this
        language (None: none); `helplines`: the helplines for a crisis category, for an
        answer that shows a crisis no user turn did (they ride on its stop-reason event)."""
        self.dialect = dialect
        self.inspection = inspection
        self.watcher = dialect.new_watcher()
        self.own_end_tool = own_end_tool
        self.filter: EndToolFilter | None = dialect.end_tool_filter() if own_end_tool else None
        self.resources = resources
        self.helplines = helplines
        # Named signal events only where the client asked for them and the dialect's
        # clients tolerate events they do not know.
        self.named_events = named_events and dialect.named_signals
        self.notice: NoticeWriter | None = None
        if notice_language is not None:
            self.notice = dialect.notice_writer()
        self.notice_language = notice_language
        self.delivered: JSONObject | None = None
        self.finished = False
        self.ended = False
        self.recorded = False
        self.unreadable_noted = False
        # Whether the event being edited held something the watcher could not read.
        self._odd = False

    @property
    def events(self) -> int:
        """How many events were read."""
        return self.watcher.observation.events

    async def block(self, block: bytes, events: list[SseEvent]) -> bytes:
        """The bytes to send for a run of complete events (`block` itself when unchanged)."""
        parts: list[bytes] | None = None
        for i, event in enumerate(events):
            role = self._watch(event)
            self.finished = self.finished or role in _DONE
            # The stop reason carries the end signal; the closing event does, when no
            # readable stop reason came before it.
            signal = role is EventRole.FINAL or (role is EventRole.STOP and not self.recorded)
            idle = self.filter is None and self.resources is None and self.notice is None
            if idle and not signal:
                continue
            out = await self._edit(event, signal)
            if out is not None:
                if parts is None:
                    parts = [e.raw for e in events]
                parts[i] = out
        return block if parts is None else b"".join(parts)

    def _watch(self, event: SseEvent) -> EventRole:
        """Feed the watcher one event; note it when it could not be read."""
        observation = self.watcher.observation
        before = observation.unreadable
        try:
            role = self.watcher.feed(event)
        except Exception as exc:
            # A shape no watcher foresaw: the event goes on as it came, the watching too.
            observation.last_data = None
            observation.unreadable += 1
            self._odd = True
            self._note_unreadable(type(exc).__name__)
            return EventRole.OTHER
        self._odd = observation.unreadable != before
        if self._odd:
            self._note_unreadable("shape")
        return role

    def _note_unreadable(self, reason: str) -> None:
        """Count an answer that held something unreadable (once per answer), and log it."""
        if self.unreadable_noted:
            return
        self.unreadable_noted = True
        metrics.UPSTREAM_ERRORS.labels(self.dialect.family, "unreadable").inc()
        # How far into the answer and why only: never the event, which holds the answer.
        log.warning(
            "upstream_unreadable",
            dialect=self.dialect.name,
            events=self.watcher.observation.events,
            reason=reason,
        )

    async def _edit(self, event: SseEvent, signal: bool) -> bytes | None:
        # The watcher has just decoded this event (a ping it skips is no signal carrier).
        data = self.watcher.observation.last_data
        if data is None:
            if signal:
                await self._record()
            return None
        try:
            edited = self._rewrite(data)
        except Exception as exc:
            self._note_unreadable(type(exc).__name__)
            edited = data, b""
        if edited is None:
            return b""
        out, extra = edited
        if signal:
            ended_now, late = await self._record()
            if late is not None:
                out = self._with(out, "crisis_resources", late)
                if self.named_events:
                    extra += encode_event("crisis_resources", {"type": "crisis_resources", **late})
            elif self.delivered is not None and self.dialect.envelope:
                # Stream helpers rebuild the final object from the last event: the resources
                # ride inside it too, so a client reading only the final response has them.
                out = self._in_envelope(out, "crisis_resources", self.delivered)
            if ended_now:
                ended = self.inspection.conversation()
                out = self._with(out, "conversation_ended", ended)
                if self.named_events:
                    extra += encode_event(
                        "conversation_ended", {"type": "conversation_ended", **ended}
                    )
            if (text := self._notice_text()) is not None:
                assert self.notice is not None
                inserted, out = self.notice.before_final(out, text)
                before = b"".join(encode_event(name, payload) for name, payload in inserted)
                self.notice = None  # once per answer
                return before + encode_event(event.name, out) + extra
        if out is data and not extra:
            return None
        return encode_event(event.name, out) + extra

    def _notice_text(self) -> str | None:
        """The visible notice this answer gets, if the operator turned notices on."""
        if self.notice is None:
            return None
        return notice_text(
            ended=self.ended, resources=self.delivered, language=self.notice_language
        )

    def _rewrite(self, data: JSONObject) -> tuple[JSONObject, bytes] | None:
        """The event's data with the end tool taken out and resources added (None: dropped)."""
        extra = b""
        if self.filter is not None:
            edit = self.filter.event(data)
            if edit == DROP:
                return None
            if edit == ODD:
                self._note_unreadable("shape")
            elif isinstance(edit, dict):
                data = edit
        if self.notice is not None:
            self.notice.see(data)
        # Resources wait for an event the client can read; the end signal, which belongs
        # on the stop reason's event, is given there whatever else it holds.
        if self.resources is not None and not self._odd:
            data = self._with(data, "crisis_resources", self.resources)
            if self.named_events:
                extra += encode_event(
                    "crisis_resources", {"type": "crisis_resources", **self.resources}
                )
            self.delivered, self.resources = self.resources, None
        return data, extra

    def _with(self, data: JSONObject, key: str, value: Any) -> JSONObject:
        """`data` with a top-level field added (and in its envelope, where it has one)."""
        return self._in_envelope({**data, key: value}, key, value)

    def _in_envelope(self, data: JSONObject, key: str, value: Any) -> JSONObject:
        """`data` with a field added to its envelope object, when it has one."""
        envelope = self.dialect.envelope
        if envelope is None or not isinstance(data.get(envelope), dict):
            return data
        return {**data, envelope: {**data[envelope], key: value}}

    async def _record(self) -> tuple[bool, JSONObject | None]:
        """Record the answer (once); return whether it ended the conversation, and the
        helplines it gets late (a crisis the answer alone showed, none delivered yet)."""
        # Once per answer, though a chat answer with several choices has a final chunk each.
        if self.recorded:
            return False, None
        self.recorded = True
        recorded = await self.inspection.record(
            self.watcher.observation, own_end_tool=self.own_end_tool
        )
        self.ended = recorded.ending is not None
        late = None
        if recorded.helplines and self.delivered is None and self.helplines is not None:
            late = self.helplines(recorded.helplines)
            self.delivered = late
        return self.ended, late

    async def finish(self) -> None:
        """The stream is over, whole or not: record it if no event carried its end.

        What was seen still counts (a refusal, the crisis on the path), signal or not.
        """
        await self._record()

    async def body(self, raw: bytes) -> bytes:
        """Read a whole answer and write the signals into it: the bytes to send.

        `raw` itself when nothing changes; a body that cannot be read goes on as it came.
        """
        try:
            body = orjson.loads(raw)
        except orjson.JSONDecodeError:
            body = None
        if not isinstance(body, dict):
            self._note_unreadable("body")
            await self._record()
            return raw
        changed = False
        try:
            self.watcher.read_body(body)
            if self.watcher.observation.unreadable:
                self._note_unreadable("shape")
            changed = self.filter is not None and self.filter.body(body)
        except Exception as exc:
            self._note_unreadable(type(exc).__name__)
        if self.resources is not None:
            body["crisis_resources"] = self.delivered = self.resources
            changed = True
        ended, late = await self._record()
        if late is not None:
            body["crisis_resources"] = late
            changed = True
        if ended:
            body["conversation_ended"] = self.inspection.conversation()
            changed = True
        if (text := self._notice_text()) is not None:
            assert self.notice is not None
            self.notice.body(body, text)
            changed = True
        return orjson.dumps(body) if changed else raw
