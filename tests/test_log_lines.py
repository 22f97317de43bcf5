"""Processes sharing one stderr pipe (serve --workers N) never glue two records on a line."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import threading
from collections import Counter

import orjson

from gateway.logs import configure_logging, get_logger
from gateway.logs_lines import LINE_LIMIT, LineWriter

WRITERS = 4
RECORDS = 1500
# Each process logs records of many sizes (up to ~3 KiB, under PIPE_BUF), through structlog
# and through the standard library, as fast as it can.
CHILD = """
import logging, sys
from gateway.logs import configure_logging, get_logger
configure_logging("json", "info")
log, std = get_logger("test"), logging.getLogger("aiohttp.server")
writer, records = sys.argv[1], int(sys.argv[2])
for i in range(records):
    padding = "x" * ((i * 397) % 3000)
    if i % 5 == 0:
        std.warning("stdlib record %s", i)
    else:
        log.warning("conversation_ended", writer=writer, seq=i, padding=padding)
"""


def test_records_from_processes_sharing_a_pipe_stay_one_per_line() -> None:
    """Every line read from the shared pipe is exactly one whole JSON record, none lost."""
    read_end, write_end = os.pipe()
    children = [
        subprocess.Popen(
            [sys.executable, "-c", CHILD, str(n), str(RECORDS)],
            stdout=subprocess.DEVNULL,
            stderr=write_end,
        )
        for n in range(WRITERS)
    ]
    os.close(write_end)
    chunks: list[bytes] = []
    # Read on a thread so a child blocked on a full pipe never waits on this one.
    reader = threading.Thread(
        target=lambda: chunks.extend(iter(lambda: os.read(read_end, 65536), b""))
    )
    reader.start()
    for child in children:
        assert child.wait(timeout=300) == 0
    reader.join(timeout=60)
    os.close(read_end)

    lines = b"".join(chunks).decode().splitlines()
    records = [orjson.loads(line) for line in lines]  # a glued line does not parse
    structured = Counter(r["writer"] for r in records if r["event"] == "conversation_ended")
    stdlib = [r for r in records if r["event"].startswith("stdlib record")]
    per_writer = RECORDS - len(range(0, RECORDS, 5))
    assert structured == {str(n): per_writer for n in range(WRITERS)}
    assert len(stdlib) == WRITERS * len(range(0, RECORDS, 5))
    assert len(records) == len(lines) == WRITERS * RECORDS


def test_a_stream_without_a_descriptor_gets_one_write_per_record() -> None:
    """A record and its newline reach a stream without a file descriptor in one call."""

    class Recorder:
        def __init__(self) -> None:
            self.calls: list[str] = []

        def write(self, text: str) -> int:
            self.calls.append(text)
            return len(text)

        def flush(self) -> None:
            pass

    recorder = Recorder()
    writer = LineWriter(recorder)  # type: ignore[arg-type]
    writer.write('{"event":"a"}')
    writer.write('{"event":"b"}')
    assert recorder.calls == ['{"event":"a"}\n', '{"event":"b"}\n']


def _deep(depth: int) -> None:
    if depth:
        _deep(depth - 1)
    raise KeyError("bottom")


def test_a_long_traceback_is_shortened_to_one_atomic_write() -> None:
    """A record whose traceback would pass PIPE_BUF is cut to fit, keeping cause and place."""
    out = io.StringIO()
    configure_logging("json", "info", out)
    try:
        try:
            _deep(60)
        except KeyError as exc:
            try:
                raise ValueError("middle") from exc
            except ValueError as middle:
                raise RuntimeError("top") from middle
    except RuntimeError:
        get_logger("test").exception("internal_error", detail="x" * 2500)
    finally:
        configure_logging("console", "warning")
    line = out.getvalue()
    assert len(line.encode()) <= LINE_LIMIT
    record = orjson.loads(line)
    stacks = record["exception"]
    assert [s["exc_type"] for s in stacks] == ["RuntimeError", "KeyError"]
    assert stacks[1]["frames"][-1]["name"] == "_deep"
    assert stacks[1]["frames"][0]["name"].startswith("Skipped frames")
