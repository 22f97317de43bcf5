"""One response's watcher and editor: every event is read, the few that carry signals change.

Guarantee: an event is changed only to add the gateway's signals (`crisis_resources` on the
first event, `conversation` on the event with the stop reason) or to take out the gateway's
own end-tool call; every other byte reaches the client exactly as the upstream sent it.
"""

from __future__ import annotations

from typing import Any

from gateway.dialects import Dialect, EventRole, SseEvent
from gateway.dialects.base import JSONObject
from gateway.dialects.end_tool import DROP, EndToolFilter, end_tool_filter
from gateway.inspection import Inspection
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
    ) -> None:
        self.dialect = dialect
        self.inspection = inspection
        self.watcher = dialect.new_watcher()
        self.own_end_tool = own_end_tool
        self.filter: EndToolFilter | None = end_tool_filter(dialect.name) if own_end_tool else None
        self.resources = resources
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
            if self.filter is None and self.resources is None and role is not EventRole.FINAL:
                continue
            out = await self._edit(event, role)
            if out is not None:
                if parts is None:
                    parts = [e.raw for e in events]
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
        if self.resources is not None:
            data = self._with(data, "crisis_resources", self.resources)
            if self.dialect.named_signals:
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
            conversation = self.inspection.conversation()
            data = self._with(data, "conversation", conversation)
            if self.dialect.named_signals:
                signal = {"type": "conversation_ended", "conversation": conversation}
                extra += encode_event("conversation_ended", signal)
            changed = True
        return encode_event(event.name, data) + extra if changed else None

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
            body["crisis_resources"] = self.resources
            changed = True
        if await self._record():
            body["conversation"] = self.inspection.conversation()
            changed = True
        return changed
