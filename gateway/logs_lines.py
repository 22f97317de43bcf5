"""Log records out of the process: one line each, in one write."""

from __future__ import annotations

import logging
import os
import threading
from typing import Any, TextIO

import orjson

from gateway.logs_tracebacks import EventDict, shortened

# POSIX keeps a pipe write of up to PIPE_BUF bytes (4096 on Linux) whole: a JSON record
# with a traceback longer than that is shortened to fit, so workers sharing stderr cannot
# split it. (Fields alone that long are not: the gateway's records are far shorter.)
LINE_LIMIT = 4096


def render_json(_logger: Any, _method: str, event_dict: EventDict) -> str:
    """One JSON object; a traceback that would make it longer than LINE_LIMIT is shortened."""
    line = orjson.dumps(event_dict, default=str)
    stacks = event_dict.get("exception")
    if len(line) + 1 > LINE_LIMIT and isinstance(stacks, list):
        line = orjson.dumps({**event_dict, "exception": shortened(stacks)}, default=str)
    return line.decode()


class LineWriter:
    """Writes each record and its newline with one write to the stream's file descriptor.

    Processes sharing one pipe (`serve --workers N`) then never glue records together:
    POSIX keeps a pipe write of up to PIPE_BUF bytes whole. Streams without a descriptor
    (a StringIO in tests) get one `write` call per record.
    """

    def __init__(self, file: TextIO) -> None:
        self.file = file
        try:
            self._fd: int | None = file.fileno()
        except (AttributeError, OSError, ValueError):
            self._fd = None
        self._lock = threading.Lock()

    def write(self, record: str) -> None:
        """Write `record` as one line; a broken log stream never fails the caller."""
        line = record + "\n"
        with self._lock:
            try:
                if self._fd is None:
                    self.file.write(line)
                    self.file.flush()
                    return
                self.file.flush()  # text someone left buffered in `file` goes first
                data = memoryview(line.encode("utf-8", "backslashreplace"))
                while data:
                    data = data[os.write(self._fd, data) :]
            except (OSError, ValueError):
                # A closed or vanished stderr must not turn a request into an error.
                return


class LineLogger:
    """The structlog logger: hands each rendered record to a LineWriter."""

    def __init__(self, writer: LineWriter) -> None:
        self._writer = writer

    def msg(self, message: str) -> None:
        """Write one rendered record."""
        self._writer.write(message)

    log = debug = info = warn = warning = error = err = critical = fatal = exception = msg


class LineHandler(logging.Handler):
    """Routes standard-library records through the same processors and writer."""

    def __init__(self, writer: LineWriter, formatter: logging.Formatter) -> None:
        super().__init__()
        self._writer = writer
        self.setFormatter(formatter)

    def emit(self, record: logging.LogRecord) -> None:
        """Format `record` as one line (JSON or console) and write it."""
        try:
            line = self.format(record)
        except Exception as exc:
            # Not `handleError`: it prints the record's message and arguments to stderr.
            failed = {"event": "log_record_failed", "logger": record.name}
            line = orjson.dumps({**failed, "error": type(exc).__name__}).decode()
        self._writer.write(line)
