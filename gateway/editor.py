"""One response's watcher and editor: every event is read, the few that carry signals change.

Guarantee: an event is changed only to add the gateway's signals (`crisis_resources` on the
first event, `conversation_ended` on the event with the stop reason, and the visible notice
where the operator turned it on) or to take out the gateway's own end-tool call; every
other byte reaches the client exactly as the upstream sent it.
"""

from __future__ import annotations

from typing import Any

from gateway.dialects import Dialect, EventRole, SseEvent
from gateway.dialects.base import JSONObject
from gateway.dialects.end_tool import DROP, EndToolFilter
from gateway.dialects.notice_events import NoticeWriter
from gateway.inspection import Inspection
from gateway.notice import notice_text
from gateway.sse import encode_event

_DONE = (EventRole.FINAL, EventRole.ERROR)


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
    ) -> None:
        """`notice_language`: write the visible notice, in this language (None: none)."""
        self.dialect = dialect
        self.inspection = inspection
        self.watcher = dialect.new_watcher()
        self.own_end_tool = own_end_tool
        self.filter: EndToolFilter | None = dialect.end_tool_filter() if own_end_tool else None
        self.resources = resources
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

    @property
    def events(self) -> int:
        """How many events were read."""
        return self.watcher.observation.events

    async def block(self, block: bytes, events: list[SseEvent]) -> bytes:
        """The bytes to send for a run of complete events (`block` itself when unchanged)."""
        parts: list[bytes] | None = None
        for i, event in enumerate(events):
            role = self.watcher.feed(event)
            self.finished = self.finished or role in _DONE
            if (
                self.filter is None
                and self.resources is None
                and self.notice is None
                and role is not EventRole.FINAL
            ):
                continue
            out = await self._edit(event, role)
            if out is not None:
                if parts is None:
                    parts = [e.raw + b"\n\n" for e in events]
                parts[i] = out
        return block if parts is None else b"".join(parts)

    async def _edit(self, event: SseEvent, role: EventRole) -> bytes | None:
        # The watcher has just decoded this event (a ping it skips is no signal carrier).
        data = self.watcher.observation.last_data
        if data is None:
            return None
        changed = False
        extra = b""
        if self.filter is not None:
            edit = self.filter.event(data)
            if edit == DROP:
                return b""
            if isinstance(edit, dict):
                data, changed = edit, True
        if self.notice is not None:
            self.notice.see(data)
        if self.resources is not None:
            data = self._with(data, "crisis_resources", self.resources)
            if self.named_events:
                extra += encode_event(
                    "crisis_resources", {"type": "crisis_resources", **self.resources}
                )
            self.delivered, self.resources, changed = self.resources, None, True
        if role is EventRole.FINAL and self.delivered is not None and self.dialect.envelope:
            # Stream helpers rebuild the final object from the last event: the resources
            # ride inside it too, so a client reading only the final response still has them.
            envelope = self.dialect.envelope
            if isinstance(data.get(envelope), dict):
                data = {**data, envelope: {**data[envelope], "crisis_resources": self.delivered}}
                changed = True
        if role is EventRole.FINAL and await self._record():
            ended = self.inspection.conversation()
            data = self._with(data, "conversation_ended", ended)
            if self.named_events:
                extra += encode_event("conversation_ended", {"type": "conversation_ended", **ended})
            changed = True
        before = b""
        if role is EventRole.FINAL and (text := self._notice_text()) is not None:
            assert self.notice is not None
            inserted, data = self.notice.before_final(data, text)
            before = b"".join(encode_event(name, payload) for name, payload in inserted)
            self.notice, changed = None, True  # once per answer
        return before + encode_event(event.name, data) + extra if changed else None

    def _notice_text(self) -> str | None:
        """The visible notice this answer gets, if the operator turned notices on."""
        if self.notice is None:
            return None
        return notice_text(
            ended=self.ended, resources=self.delivered, language=self.notice_language
        )

    def _with(self, data: JSONObject, key: str, value: Any) -> JSONObject:
        """`data` with a top-level field added (and in its envelope, where it has one)."""
        out = {**data, key: value}
        envelope = self.dialect.envelope
        if envelope is not None and isinstance(data.get(envelope), dict):
            out[envelope] = {**data[envelope], key: value}
        return out

    async def _record(self) -> bool:
        # Once per answer, though a chat answer with several choices has a final chunk each.
        if self.recorded:
            return False
        self.recorded = True
        ending = await self.inspection.record(
            self.watcher.observation, own_end_tool=self.own_end_tool
        )
        self.ended = ending is not None
        return self.ended

    async def body(self, body: dict[str, Any]) -> bool:
        """Read a whole answer and write the signals into it; return whether it changed."""
        self.watcher.read_body(body)
        changed = self.filter is not None and self.filter.body(body)
        if self.resources is not None:
            body["crisis_resources"] = self.delivered = self.resources
            changed = True
        if await self._record():
            body["conversation_ended"] = self.inspection.conversation()
            changed = True
        if (text := self._notice_text()) is not None:
            assert self.notice is not None
            self.notice.body(body, text)
            changed = True
        return changed
