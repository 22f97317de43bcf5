"""Cutting byte streams into server-sent events."""

from __future__ import annotations

import pytest

from gateway.sse import SseSplitter, parse_event

STREAM = (
    b'event: message_start\ndata: {"type":"message_start"}\n\n'
    b'event: ping\ndata: {"type": "ping"}\n\n'
    b'data: {"a":1}\n\n'
    b"data: [DONE]\n\n"
)


@pytest.mark.parametrize("size", [1, 2, 3, 7, 16, 64, len(STREAM)])
def test_any_chunking_yields_the_same_events(size: int) -> None:
    """However the bytes are cut, the same events come out, byte for byte."""
    splitter = SseSplitter()
    events = []
    blocks = b""
    for i in range(0, len(STREAM), size):
        block, new = splitter.feed(STREAM[i : i + size])
        blocks += block
        events += new
    assert [e.name for e in events] == ["message_start", "ping", None, None]
    assert [e.data for e in events] == [
        b'{"type":"message_start"}',
        b'{"type": "ping"}',
        b'{"a":1}',
        b"[DONE]",
    ]
    assert blocks == STREAM
    assert b"".join(e.raw + b"\n\n" for e in events) == STREAM
    assert splitter.rest() == b""


def test_an_incomplete_event_is_held_until_complete() -> None:
    """A partial event is not handed on; it is, as soon as its blank line arrives."""
    splitter = SseSplitter()
    assert splitter.feed(b'data: {"x"') == (b"", [])
    assert splitter.feed(b":1}\n") == (b"", [])
    _, (event,) = splitter.feed(b"\n")
    assert event.data == b'{"x":1}'


def test_crlf_line_endings_are_understood() -> None:
    """Events framed with CRLF parse like LF ones."""
    _, (event,) = SseSplitter().feed(b"event: x\r\ndata: 1\r\n\r\n")
    assert (event.name, event.data) == ("x", b"1")


def test_multi_line_data_is_joined_with_newlines() -> None:
    """Several data lines form one data value, joined by newlines (SSE spec)."""
    event = parse_event(b"data: a\ndata: b\ndata:c")
    assert event.data == b"a\nb\nc"


def test_an_unterminated_tail_is_returned_at_the_end() -> None:
    """Bytes after the last complete event are returned by rest()."""
    splitter = SseSplitter()
    assert splitter.feed(b"data: 1\n\ndata: 2")[1] != []
    assert splitter.rest() == b"data: 2"
