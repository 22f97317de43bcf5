"""Cutting byte streams into server-sent events: any line ends, any split, bounded events."""

from __future__ import annotations

import itertools
import re
import tracemalloc

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.dialects.base import SseEvent
from gateway.sse import SseSplitter, parse_event

LIMIT = 1 << 20
STREAM = (
    b'event: message_start\ndata: {"type":"message_start"}\n\n'
    b'event: ping\ndata: {"type": "ping"}\n\n'
    b'data: {"a":1}\n\n'
    b"data: [DONE]\n\n"
)


def reference(stream: bytes) -> tuple[list[tuple[str | None, bytes]], bytes]:
    """The events of a whole stream read line by line as the SSE spec says, and its tail.

    Lines end in CRLF, LF or CR; a blank line ends an event; lines that are all blank make
    none. The tail is what follows the last blank line that ends an event.
    """
    events: list[tuple[str | None, bytes]] = []
    group: list[bytes] = []
    last_end = 0
    for match in re.finditer(rb"([^\r\n]*)(\r\n|\r|\n)", stream):
        line = match.group(1)
        if line:
            group.append(line)
        elif group:
            event = parse_event(b"\n".join(group))
            events.append((event.name, event.data))
            group = []
            last_end = match.end()
    return events, stream[last_end:]


def blank(event: SseEvent) -> bool:
    """Whether an event is blank lines only (SSE dispatches nothing for them)."""
    return not event.raw.strip(b"\r\n")


def split_feed(stream: bytes, cuts: list[int]) -> tuple[list[SseEvent], bytes, bytes]:
    """Feed `stream` cut at `cuts`; return the events, the bytes handed on, and the rest."""
    splitter = SseSplitter(LIMIT)
    events: list[SseEvent] = []
    sent = b""
    bounds = [0, *sorted(set(cuts)), len(stream)]
    for start, end in itertools.pairwise(bounds):
        block, new = splitter.feed(stream[start:end])
        assert block == b"".join(e.raw for e in new)
        sent += block
        events += new
    return events, sent, splitter.rest()


def assert_same_as_reference(stream: bytes, cuts: list[int]) -> None:
    """Split anyhow, the stream gives the reference's events, and its own bytes back."""
    events, sent, rest = split_feed(stream, cuts)
    expected, _ = reference(stream)
    assert [(e.name, e.data) for e in events if not blank(e)] == expected
    assert all(e.data == b"" and e.name is None for e in events if blank(e))
    assert sent + rest == stream
    # The tail held back is never more than the unfinished event (and blank lines).
    assert reference(rest)[0] == []


LINE_ENDS = st.sampled_from([b"\n", b"\r", b"\r\n"])
VALUES = st.text(
    alphabet=st.characters(blacklist_characters="\r\n", blacklist_categories=["Cs"]),
    max_size=12,
).map(lambda s: s.encode())
LINES = st.one_of(
    VALUES.map(lambda v: b"data: " + v),
    VALUES.map(lambda v: b"data:" + v),
    st.just(b"data"),
    st.sampled_from([b"message_delta", b"ping", b"x y"]).map(lambda n: b"event: " + n),
    VALUES.map(lambda v: b": " + v),
    st.just(b"id: 7"),
    st.just(b"retry: 100"),
)


@st.composite
def streams(draw: st.DrawFn, ends: st.SearchStrategy[bytes] = LINE_ENDS) -> bytes:
    """A stream of events with mixed line ends, stray blank lines and maybe a tail."""
    out = b""
    for _ in range(draw(st.integers(0, 6))):
        for line in draw(st.lists(LINES, min_size=1, max_size=4)):
            out += line + draw(ends)
        out += draw(ends) * draw(st.integers(1, 3))
    if draw(st.booleans()):
        out += draw(LINES)
    return out


@st.composite
def split_streams(
    draw: st.DrawFn, ends: st.SearchStrategy[bytes] = LINE_ENDS
) -> tuple[bytes, list[int]]:
    """A stream and the places it is cut into reads."""
    stream = draw(streams(ends))
    cuts = draw(st.lists(st.integers(0, max(len(stream), 0)), max_size=12))
    return stream, cuts


@settings(max_examples=400, deadline=None)
@given(split_streams())
def test_any_split_of_mixed_line_ends_gives_the_same_events(case: tuple[bytes, list[int]]) -> None:
    """LF, CR and CRLF mixed, cut anywhere: the events of the whole stream, its bytes intact."""
    assert_same_as_reference(*case)


@pytest.mark.parametrize("end", [b"\n", b"\r", b"\r\n"], ids=["LF", "CR", "CRLF"])
@settings(max_examples=150, deadline=None)
@given(data=st.data())
def test_any_split_of_one_kind_of_line_end_gives_the_same_events(
    end: bytes, data: st.DataObject
) -> None:
    """Streams that use one kind of line end throughout, cut anywhere."""
    assert_same_as_reference(*data.draw(split_streams(st.just(end))))


SAMPLES = {
    "LF": STREAM,
    "CRLF": STREAM.replace(b"\n", b"\r\n"),
    "CR": STREAM.replace(b"\n", b"\r"),
    "mixed": b"event: a\r\ndata: 1\r\n\r\ndata: 2\r\rdata: 3\n\r\ndata: 4\r\n\n: c\r\r\n\r\n",
    "blank lines between": b"\r\n\r\ndata: 1\r\n\r\n\r\n\n\rdata: 2\r\n\r\n",
}


@pytest.mark.parametrize("stream", SAMPLES.values(), ids=SAMPLES)
def test_every_two_and_three_piece_split_gives_the_same_events(stream: bytes) -> None:
    """Exhaustively: each cut, and each pair of cuts, of a sample stream."""
    positions = range(1, len(stream))
    for cut in positions:
        assert_same_as_reference(stream, [cut])
    for pair in itertools.combinations(positions, 2):
        assert_same_as_reference(stream, list(pair))


def test_a_crlf_split_across_reads_is_one_line_end() -> None:
    """`\\r` last in one read and `\\n` first in the next end one line, not two."""
    splitter = SseSplitter(LIMIT)
    assert splitter.feed(b"event: x\r") == (b"", [])
    assert splitter.feed(b"\ndata: 1\r") == (b"", [])
    block, (event,) = splitter.feed(b"\n\r\n")
    assert (event.name, event.data) == ("x", b"1")
    assert block == b"event: x\r\ndata: 1\r\n\r\n"


def test_an_event_ended_by_a_final_cr_is_handed_on_at_once() -> None:
    """A blank line whose last byte is a CR ends the event without waiting for an LF."""
    splitter = SseSplitter(LIMIT)
    _, (first,) = splitter.feed(b"data: 1\r\n\r")
    assert first.data == b"1"
    # The LF that completes the CRLF starts no event of its own.
    block, (second,) = splitter.feed(b"\ndata: 2\r\n\r\n")
    assert second.data == b"2"
    assert block == b"\ndata: 2\r\n\r\n"


def test_blank_lines_alone_are_handed_on_at_once() -> None:
    """Blank lines between events (a keep-alive) reach the client as they come."""
    splitter = SseSplitter(LIMIT)
    splitter.feed(b"data: 1\n\n")
    block, events = splitter.feed(b"\n\n")
    assert block == b"\n\n"
    assert [(e.name, e.data) for e in events] == [(None, b"")]


@pytest.mark.parametrize("size", [1, 2, 3, 7, 16, 64, len(STREAM)])
def test_events_reach_the_client_byte_for_byte(size: int) -> None:
    """However the bytes are cut, each event's own bytes are handed on unchanged."""
    for stream in SAMPLES.values():
        splitter = SseSplitter(LIMIT)
        sent = b""
        for i in range(0, len(stream), size):
            sent += splitter.feed(stream[i : i + size])[0]
        assert sent + splitter.rest() == stream


def test_an_incomplete_event_is_held_until_complete() -> None:
    """A partial event is not handed on; it is, as soon as its blank line arrives."""
    splitter = SseSplitter(LIMIT)
    assert splitter.feed(b'data: {"x"') == (b"", [])
    assert splitter.feed(b":1}\n") == (b"", [])
    _, (event,) = splitter.feed(b"\n")
    assert event.data == b'{"x":1}'


def test_multi_line_data_is_joined_with_newlines() -> None:
    """Several data lines form one data value, joined by newlines (SSE spec)."""
    event = parse_event(b"data: a\r\ndata: b\rdata:c\ndata\n\n")
    assert event.data == b"a\nb\nc\n"


def test_an_unterminated_tail_is_returned_at_the_end() -> None:
    """Bytes after the last complete event are returned by rest()."""
    splitter = SseSplitter(LIMIT)
    assert splitter.feed(b"data: 1\n\ndata: 2")[1] != []
    assert splitter.rest() == b"data: 2"


def test_an_event_at_the_limit_passes_and_one_over_it_overflows() -> None:
    """The limit counts an event's bytes, its blank line included."""
    event = b"data: " + b"x" * 100 + b"\n\n"
    at_limit = SseSplitter(len(event))
    assert [e.raw for e in at_limit.feed(event)[1]] == [event]
    assert not at_limit.overflowed
    over = SseSplitter(len(event) - 1)
    assert over.feed(event) == (b"", [])
    assert over.overflowed


def test_events_before_an_oversized_one_are_still_handed_on() -> None:
    """The complete events of the read that overflows come out; then nothing more does."""
    splitter = SseSplitter(1024)
    block, events = splitter.feed(b"data: 1\n\ndata: 2\n\ndata: " + b"x" * 2000)
    assert [e.data for e in events] == [b"1", b"2"]
    assert block == b"data: 1\n\ndata: 2\n\n"
    assert splitter.overflowed
    assert splitter.feed(b"\n\ndata: 3\n\n") == (b"", [])
    assert splitter.rest() == b""


def test_a_huge_event_without_a_line_break_is_never_held_past_the_limit() -> None:
    """50 MB with no line break, fed in reads: memory stays near the limit, not the event."""
    piece = b"x" * 65536
    splitter = SseSplitter(LIMIT)
    tracemalloc.start()
    try:
        splitter.feed(b"data: ")
        fed = 0
        while fed < 50_000_000 and not splitter.overflowed:
            splitter.feed(piece)
            fed += len(piece)
        for _ in range(100):  # what follows is refused without being held
            splitter.feed(piece)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert splitter.overflowed
    assert fed <= LIMIT + len(piece)
    assert peak < 3 * LIMIT, f"{peak} bytes held at the peak"
    assert splitter.rest() == b""
