"""Structured logging: JSON in production, readable in a terminal, never a secret or input.

Global logging state lives here and nowhere else. Per-request context (`request_id`,
`conversation_id`) is bound with contextvars by the request handler. Records from the
standard library's loggers (aiohttp, asyncio) go through the same pipeline, and every
record leaves the process as one line in one write.
"""

from __future__ import annotations

import logging
import os
import re
import sys
import threading
from collections.abc import Callable, MutableMapping
from types import TracebackType
from typing import Any, TextIO

import orjson
import structlog
from structlog.tracebacks import ExceptionDictTransformer

REDACTED = "[redacted]"
_SECRET_KEYS = frozenset(
    {
        "authorization",
        "x-api-key",
        "api_key",
        "api-key",
        "admin_token",
        "token",
        "password",
        "cookie",
        "set-cookie",
        "proxy-authorization",
    }
)
_SECRET_VALUE = re.compile(r"(sk-[A-Za-z0-9_\-]{8,}|Bearer\s+\S+)")
# Where a library's message starts quoting an object (a repr, a tuple of arguments): an
# exception's repr may carry the request body, a callback's repr its arguments.
_REPR_START = re.compile(r"""[<(\[{'"]""")
# Enough frames to place a failure.
MAX_FRAMES = 20
# POSIX keeps a pipe write of up to PIPE_BUF bytes (4096 on Linux) whole: a JSON record
# with a traceback longer than that is shortened to fit, so workers sharing stderr cannot
# split it. (Fields alone that long are not: the gateway's records are far shorter.)
LINE_LIMIT = 4096
_SHORT_FRAMES = 4
# Not text: the exception to render (reduced by `safe_exception`) and the stdlib record.
_UNSCRUBBED = frozenset({"exc_info", "_record", "_from_structlog"})

EventDict = MutableMapping[str, Any]
ExcInfo = tuple[type[BaseException], BaseException, TracebackType | None]


def _scrub(value: Any) -> Any:
    if isinstance(value, str):
        return _SECRET_VALUE.sub(REDACTED, value)
    if isinstance(value, dict):
        return {
            k: REDACTED if str(k).lower() in _SECRET_KEYS else _scrub(v) for k, v in value.items()
        }
    if isinstance(value, list | tuple):
        return [_scrub(v) for v in value]
    return value


def redact_secrets(_logger: Any, _method: str, event_dict: EventDict) -> EventDict:
    """Replace credentials, by key or by look, before anything is rendered."""
    for key, value in list(event_dict.items()):
        if key in _UNSCRUBBED:
            continue
        event_dict[key] = REDACTED if key.lower() in _SECRET_KEYS else _scrub(value)
    return event_dict


def _exc_info(value: Any) -> ExcInfo | None:
    """The exception a record's `exc_info` names (an exception, a tuple, or True: the current)."""
    if isinstance(value, BaseException):
        return type(value), value, value.__traceback__
    if isinstance(value, tuple) and len(value) == 3 and isinstance(value[1], BaseException):
        return value[0], value[1], value[2]
    if value is True:
        current = sys.exc_info()
        if current[1] is not None:
            return current[0], current[1], current[2]
    return None


_to_stacks = ExceptionDictTransformer(show_locals=False, max_frames=MAX_FRAMES, use_rich=False)


def _bare(stacks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Stacks with exception types and frames only: values, notes and syntax lines go."""
    for stack in stacks:
        for key in ("exc_value", "exc_notes", "syntax_error"):
            stack.pop(key, None)
        if stack.get("is_group"):
            stack["exceptions"] = [_bare(trace) for trace in stack["exceptions"]]
        else:
            stack.pop("exceptions", None)
    return stacks


def safe_exception(_logger: Any, _method: str, event_dict: EventDict) -> EventDict:
    """Render `exc_info` as exception types and frames: no local variables, no messages.

    Locals hold headers and bodies, and a message may quote its input (a KeyError's key,
    a parser's excerpt), so neither is ever written; the type and the frames place the fault.
    """
    exc_info = _exc_info(event_dict.pop("exc_info", None))
    if exc_info is not None:
        event_dict["exception"] = _bare(_to_stacks(exc_info))
    return event_dict


_CAUSE = "\nThe above exception was the direct cause of the following exception:\n"
_CONTEXT = "\nDuring handling of the above exception, another exception occurred:\n"


def _traceback_text(stacks: list[dict[str, Any]]) -> str:
    """The bare stacks as a terminal-style traceback, innermost cause first."""
    lines: list[str] = []
    previous: dict[str, Any] | None = None
    for stack in reversed(stacks):
        if previous is not None:
            lines.append(_CAUSE if previous["is_cause"] else _CONTEXT)
        previous = stack
        lines.append("Traceback (most recent call last):")
        lines.extend(
            f'  File "{f["filename"]}", line {f["lineno"]}, in {f["name"]}' for f in stack["frames"]
        )
        lines.append(f"{stack['exc_type']} (message not logged)")
    return "\n".join(lines)


def _console_exception(_logger: Any, _method: str, event_dict: EventDict) -> EventDict:
    exception = event_dict.get("exception")
    if isinstance(exception, list):
        event_dict["exception"] = _traceback_text(exception)
    return event_dict


def _library_message(_logger: Any, _method: str, event_dict: EventDict) -> EventDict:
    """A standard-library record's message, cut to its first line and before any repr.

    asyncio's "Task exception was never retrieved" goes on with the task's repr, which
    holds the exception's message; "Exception in callback f(...)" quotes the arguments.
    """
    record = event_dict.get("_record")
    message = str(event_dict.get("event", "")).strip()
    first = message.splitlines()[0] if message else ""
    event_dict["event"] = _REPR_START.split(first, maxsplit=1)[0].rstrip(" :=,") or "(message)"
    if isinstance(record, logging.LogRecord):
        event_dict["logger"] = record.name
    return event_dict


def _orjson_dumps(value: Any, **_: Any) -> str:
    return orjson.dumps(value, default=str).decode()


def _shortened(stacks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The outermost exception and the root cause, each with its innermost frames only."""
    short = []
    for stack in stacks if len(stacks) <= 2 else [stacks[0], stacks[-1]]:
        frames = stack["frames"]
        if len(frames) > _SHORT_FRAMES:
            skipped = f"Skipped frames: {len(frames) - _SHORT_FRAMES}"
            frames = [{"filename": "", "lineno": -1, "name": skipped}, *frames[-_SHORT_FRAMES:]]
        kept = {**stack, "frames": frames}
        kept.pop("exceptions", None)  # a group's members: too many to fit
        short.append(kept)
    return short


def _render_json(_logger: Any, _method: str, event_dict: EventDict) -> str:
    """One JSON object; a traceback that would make it longer than LINE_LIMIT is shortened."""
    line = orjson.dumps(event_dict, default=str)
    stacks = event_dict.get("exception")
    if len(line) + 1 > LINE_LIMIT and isinstance(stacks, list):
        line = orjson.dumps({**event_dict, "exception": _shortened(stacks)}, default=str)
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


class _LineHandler(logging.Handler):
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
            line = _orjson_dumps(
                {"event": "log_record_failed", "logger": record.name, "error": type(exc).__name__}
            )
        self._writer.write(line)


def _renderer(fmt: str, file: TextIO) -> list[Callable[..., Any]]:
    if fmt == "json":
        return [_render_json]
    colors = hasattr(file, "isatty") and file.isatty()
    return [_console_exception, structlog.dev.ConsoleRenderer(colors=colors)]


def configure_logging(fmt: str = "json", level: str = "info", file: TextIO | None = None) -> None:
    """Set up structlog and the standard library's logging (`file`: stderr by default)."""
    out = file or sys.stderr
    writer = LineWriter(out)
    threshold = logging.getLevelNamesMapping()[level.upper()]
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    # Redaction sees the fields as given; the exception is then reduced to types and frames.
    tail = [redact_secrets, safe_exception, *_renderer(fmt, out)]
    structlog.configure(
        processors=[*shared, *tail],
        wrapper_class=structlog.make_filtering_bound_logger(threshold),
        logger_factory=lambda *_args: LineLogger(writer),
        cache_logger_on_first_use=False,
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=[*shared, _library_message],
        processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, *tail],
    )
    root = logging.getLogger()
    for handler in [h for h in root.handlers if isinstance(h, _LineHandler)]:
        root.removeHandler(handler)
    root.addHandler(_LineHandler(writer, formatter))
    root.setLevel(threshold)


def install_exception_hooks() -> None:
    """Uncaught exceptions (main thread, other threads, unraisable) become safe log records."""
    log = get_logger("lastword.crash")

    def main_thread(kind: type[BaseException], exc: BaseException, tb: Any) -> None:
        if issubclass(kind, KeyboardInterrupt):
            sys.__excepthook__(kind, exc, tb)
            return
        log.critical("uncaught_exception", exc_info=(kind, exc, tb))

    def other_thread(args: threading.ExceptHookArgs) -> None:
        if args.exc_value is not None:
            exc_info = (args.exc_type, args.exc_value, args.exc_traceback)
            thread = getattr(args.thread, "name", None)
            log.error("thread_exception", thread=thread, exc_info=exc_info)

    def unraisable(args: Any) -> None:
        if args.exc_value is not None:
            exc_info = (args.exc_type, args.exc_value, args.exc_traceback)
            log.error("unraisable_exception", exc_info=exc_info)

    sys.excepthook = main_thread
    threading.excepthook = other_thread
    sys.unraisablehook = unraisable


def get_logger(name: str = "lastword") -> Any:
    """A bound logger for a module."""
    return structlog.get_logger(name)
