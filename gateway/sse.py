"""Cutting a byte stream into server-sent events without holding more than one event.

The SSE format ends a line with CRLF, LF or CR, and an event with a blank line. Events are
cut from the bytes exactly as they arrive, line ends untouched, so an event the gateway does
not edit reaches the client byte for byte, whatever the line ends and however the upstream's
bytes were split into reads.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import orjson

from gateway.dialects.base import SseEvent

# A line end followed by another: the blank line that ends an event. A CR followed by an LF
# is one line end, never two; a CR last in the bytes read so far ends a line either way (an
# LF after it, in the next read, completes that line end and starts nothing).
_BLANK_LINE = re.compile(rb"(?:\r\n|\n|\r(?!\n))(?:\r\n|\n|\r)")
# The longest blank line (CRLF CRLF) less one byte: how far back a blank line that ends in
# a new read can begin.
_REACH = 3


def _ends(buffer: bytes, start: int) -> Iterator[int]:
    """Where each blank line of `buffer`, searched from `start`, ends."""
    if buffer.find(b"\r", start) < 0:
        # LF only, as nearly every upstream sends: a plain search, no pattern.
        at = buffer.find(b"\n\n", start)
        while at >= 0:
            yield at + 2
            at = buffer.find(b"\n\n", at + 2)
        return
    for match in _BLANK_LINE.finditer(buffer, start):
        yield match.end()


class SseSplitter:
    """Feeds on raw chunks as they arrive and yields each complete event.

    Only the incomplete tail of the last event is held back; every complete event is
    handed on at once, so the client sees tokens as the upstream sends them. The tail is
    never allowed past `max_event` bytes: an event that would grow beyond it sets
    `overflowed`, and the splitter takes nothing more.
    """

    __slots__ = ("_held", "_max", "_pending", "_tail", "overflowed")

    def __init__(self, max_event: int) -> None:
        # The incomplete tail, kept as the chunks it arrived in: a long event costs one join
        # when it completes, not a copy of everything so far at every chunk.
        self._pending: list[bytes] = []
        self._held = 0
        # The last bytes held: a blank line completed by the next chunk begins among them.
        self._tail = b""
        self._max = max_event
        self.overflowed = False

    def feed(self, chunk: bytes) -> tuple[bytes, list[SseEvent]]:
        """Take a chunk; return the bytes of the events it completes, and those events.

        The bytes returned are the events' own bytes joined, exactly as received.
        """
        if not chunk or self.overflowed:
            return b"", []
        tail = self._tail
        if self._pending and next(_ends(tail + chunk, 0), None) is None:
            return self._hold(chunk)
        buffer = b"".join(self._pending) + chunk if self._pending else chunk
        start = 0
        events: list[SseEvent] = []
        for end in _ends(buffer, max(self._held - len(tail), 0)):
            if end - start > self._max:
                self.overflowed = True
                break
            # Blank lines alone (a keep-alive some servers send) come out as an event with
            # no fields, so they too are handed on at once.
            events.append(parse_event(buffer[start:end]))
            start = end
        rest = buffer[start:]
        self._pending, self._held, self._tail = [], 0, b""
        if self.overflowed or len(rest) > self._max:
            self.overflowed = True
        elif rest:
            self._pending, self._held, self._tail = [rest], len(rest), rest[-_REACH:]
        return buffer[:start], events

    def _hold(self, chunk: bytes) -> tuple[bytes, list[SseEvent]]:
        held = self._held + len(chunk)
        if held > self._max:
            # Never hold more than the limit: what is held is let go at once.
            self._pending, self._held, self._tail = [], 0, b""
            self.overflowed = True
            return b"", []
        self._pending.append(chunk)
        self._held = held
        self._tail = (self._tail + chunk)[-_REACH:]
        return b"", []

    def rest(self) -> bytes:
        """Whatever the stream left unterminated at its end."""
        rest = b"".join(self._pending)
        self._pending, self._held, self._tail = [], 0, b""
        return rest


def parse_event(raw: bytes) -> SseEvent:
    """Read the `event:` and `data:` fields of one event's bytes (SSE line ends, any kind)."""
    name: str | None = None
    data: list[bytes] = []
    for line in raw.splitlines():
        if line.startswith(b"data:"):
            data.append(line[6:] if line[5:6] == b" " else line[5:])
        elif line.startswith(b"event:"):
            name = line[6:].strip().decode("utf-8", "replace")
        elif line == b"data":  # a field name alone has an empty value
            data.append(b"")
    return SseEvent(name, data[0] if len(data) == 1 else b"\n".join(data), raw)


def encode_event(name: str | None, data: Any) -> bytes:
    """One complete event (with its blank line) carrying `data` as JSON."""
    head = b"event: " + name.encode() + b"\n" if name else b""
    return head + b"data: " + orjson.dumps(data) + b"\n\n"
