"""Cutting a byte stream into server-sent events without holding more than one event."""

from __future__ import annotations

from typing import Any

import orjson

from gateway.dialects.base import SseEvent

_CRLF = b"\r"


class SseSplitter:
    """Feeds on raw chunks as they arrive and yields each complete event.

    Only the incomplete tail of the last event is held back; every complete event is
    handed on at once, so the client sees tokens as the upstream sends them.
    """

    __slots__ = ("_last", "_pending")

    def __init__(self) -> None:
        # The incomplete tail, kept as the chunks it arrived in: a long event costs one join
        # when it completes, not a copy of everything so far at every chunk.
        self._pending: list[bytes] = []
        self._last = b""

    def feed(self, chunk: bytes) -> tuple[bytes, list[SseEvent]]:
        """Take a chunk; return the bytes of the events it completes, and those events."""
        if _CRLF in chunk:
            chunk = chunk.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
        if not chunk:
            return b"", []
        # Only the new bytes (and the one before them) can hold a new end of event.
        if b"\n\n" not in self._last + chunk[:1] and b"\n\n" not in chunk:
            self._pending.append(chunk)
            self._last = chunk[-1:]
            return b"", []
        buffer = b"".join(self._pending) + chunk if self._pending else chunk
        end = buffer.rfind(b"\n\n")
        rest = buffer[end + 2 :]
        self._pending = [rest] if rest else []
        self._last = rest[-1:]
        block = buffer[: end + 2]
        return block, [parse_event(raw) for raw in block.split(b"\n\n") if raw.strip(b"\n")]

    def rest(self) -> bytes:
        """Whatever the stream left unterminated at its end."""
        rest = b"".join(self._pending)
        self._pending, self._last = [], b""
        return rest


def parse_event(raw: bytes) -> SseEvent:
    """Read the `event:` and `data:` fields of one event's bytes (without its blank line)."""
    name: str | None = None
    data: list[bytes] = []
    for line in raw.split(b"\n"):
        if line.startswith(b"data:"):
            data.append(line[6:] if line[5:6] == b" " else line[5:])
        elif line.startswith(b"event:"):
            name = line[6:].strip().decode("utf-8", "replace")
    return SseEvent(name, data[0] if len(data) == 1 else b"\n".join(data), raw)


def encode_event(name: str | None, data: Any) -> bytes:
    """One complete event (with its blank line) carrying `data` as JSON."""
    head = b"event: " + name.encode() + b"\n" if name else b""
    return head + b"data: " + orjson.dumps(data) + b"\n\n"


def with_fields(event: SseEvent, fields: dict[str, Any]) -> bytes:
    """The event again, its JSON data given extra top-level fields."""
    data = orjson.loads(event.data)
    data.update(fields)
    return encode_event(event.name, data)
