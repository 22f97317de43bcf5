"""Structured logging: JSON in production, readable in a terminal, never a secret or input.

Global logging state lives here and nowhere else. Per-request context (`request_id`,
`conversation_id`) is bound with contextvars by the request handler. Records from the
standard library's loggers (aiohttp, asyncio) go through the same pipeline, and every
record leaves the process as one line in one write.
"""

from __future__ import annotations

import logging
import re
import sys
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, TextIO

import structlog

from gateway.logs_lines import LineHandler, LineLogger, LineWriter, render_json
from gateway.logs_tracebacks import EventDict, console_exception, safe_exception

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
# Every match of _SECRET_VALUE holds one of these: a string without them is left as it is,
# without running the expression (most fields of most records: ids, names, numbers).
_SECRET_MARKS = ("sk-", "Bearer")
# Where a library's message starts quoting an object (a repr, a tuple of arguments): an
# exception's repr may carry the request body, a callback's repr its arguments.
_REPR_START = re.compile(r"""[<(\[{'"]""")
# Not text: the exception to render (reduced by `safe_exception`) and the stdlib record.
_UNSCRUBBED = frozenset({"exc_info", "_record", "_from_structlog"})


def _has_secret_mark(text: str) -> bool:
    return _SECRET_MARKS[0] in text or _SECRET_MARKS[1] in text


def _scrub(value: Any) -> Any:
    if isinstance(value, str):
        return _SECRET_VALUE.sub(REDACTED, value) if _has_secret_mark(value) else value
    if isinstance(value, dict):
        return {
            k: REDACTED if str(k).lower() in _SECRET_KEYS else _scrub(v) for k, v in value.items()
        }
    if isinstance(value, list | tuple):
        return [_scrub(v) for v in value]
    return value


# Values with no text in them: nothing to scrub (checked by exact type, the common case).
_PLAIN = frozenset({int, float, bool, type(None)})


def redact_secrets(_logger: Any, _method: str, event_dict: EventDict) -> EventDict:
    """Replace credentials, by key or by look, before anything is rendered."""
    # Values are replaced in place (the keys stay as they are, so iterating is safe).
    for key, value in event_dict.items():
        if key in _UNSCRUBBED:
            continue
        if key.lower() in _SECRET_KEYS:
            event_dict[key] = REDACTED
        elif type(value) is str:
            if _SECRET_MARKS[0] in value or _SECRET_MARKS[1] in value:
                event_dict[key] = _SECRET_VALUE.sub(REDACTED, value)
        elif type(value) not in _PLAIN:
            event_dict[key] = _scrub(value)
    return event_dict


class UtcStamper:
    """`timestamp`: ISO 8601 in UTC, as structlog's `TimeStamper(fmt="iso", utc=True)`
    writes it (`2026-12-05T10:58:09.665357Z`), the part up to the second formatted once a
    second rather than once a record."""

    __slots__ = ("_cached",)

    def __init__(self) -> None:
        # The second and its text, as one value: threads that log read them together.
        self._cached = (-1, "")

    def __call__(self, _logger: Any, _method: str, event_dict: EventDict) -> EventDict:
        now = time.time()
        second, prefix = self._cached
        if int(now) != second:
            second = int(now)
            prefix = datetime.fromtimestamp(second, UTC).strftime("%Y-%m-%dT%H:%M:%S")
            self._cached = (second, prefix)
        micro = int((now - second) * 1_000_000)
        # As `isoformat` does: no fraction at all on a whole second.
        event_dict["timestamp"] = f"{prefix}.{micro:06d}Z" if micro else f"{prefix}Z"
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


def _renderer(fmt: str, file: TextIO) -> list[Callable[..., Any]]:
    if fmt == "json":
        return [render_json]
    colors = hasattr(file, "isatty") and file.isatty()
    return [console_exception, structlog.dev.ConsoleRenderer(colors=colors)]


def configure_logging(fmt: str = "json", level: str = "info", file: TextIO | None = None) -> None:
    """Set up structlog and the standard library's logging (`file`: stderr by default)."""
    out = file or sys.stderr
    writer = LineWriter(out)
    threshold = logging.getLevelNamesMapping()[level.upper()]
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        UtcStamper(),
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
    for handler in [h for h in root.handlers if isinstance(h, LineHandler)]:
        root.removeHandler(handler)
    root.addHandler(LineHandler(writer, formatter))
    root.setLevel(threshold)
    global _generation  # noqa: PLW0603 - the one piece of global logging state it tracks
    _generation += 1


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


# Bumped by `configure_logging`: a module's logger binds afresh only after it changes.
_generation = 0


class _ModuleLogger:
    """A module's logger, bound once per configuration rather than on every call.

    structlog's lazy proxy binds a new logger on each method call unless told to cache it
    for good; cached for good, a logger would miss a later `configure_logging` (tests
    configure several times). This one binds again when the configuration changed.
    """

    __slots__ = ("_bound", "_name", "_seen")

    def __init__(self, name: str) -> None:
        self._name = name
        self._bound: Any = None
        self._seen = -1

    def __getattr__(self, attr: str) -> Any:
        if self._seen != _generation:
            self._bound = structlog.get_logger(self._name).bind()
            self._seen = _generation
        return getattr(self._bound, attr)


def get_logger(name: str = "lastword") -> Any:
    """A bound logger for a module."""
    return _ModuleLogger(name)
