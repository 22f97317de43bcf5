"""Exceptions in log records: types and frames only, never locals or messages."""

from __future__ import annotations

import sys
from collections.abc import MutableMapping
from types import TracebackType
from typing import Any

from structlog.tracebacks import ExceptionDictTransformer

EventDict = MutableMapping[str, Any]
ExcInfo = tuple[type[BaseException], BaseException, TracebackType | None]

# Enough frames to place a failure.
MAX_FRAMES = 20
# Frames kept per stack when a record must be shortened.
SHORT_FRAMES = 4


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


def console_exception(_logger: Any, _method: str, event_dict: EventDict) -> EventDict:
    """Turn the bare stacks into traceback text for the console renderer."""
    exception = event_dict.get("exception")
    if isinstance(exception, list):
        event_dict["exception"] = _traceback_text(exception)
    return event_dict


def shortened(stacks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The outermost exception and the root cause, each with its innermost frames only."""
    short = []
    for stack in stacks if len(stacks) <= 2 else [stacks[0], stacks[-1]]:
        frames = stack["frames"]
        if len(frames) > SHORT_FRAMES:
            skipped = f"Skipped frames: {len(frames) - SHORT_FRAMES}"
            frames = [{"filename": "", "lineno": -1, "name": skipped}, *frames[-SHORT_FRAMES:]]
        kept = {**stack, "frames": frames}
        kept.pop("exceptions", None)  # a group's members: too many to fit
        short.append(kept)
    return short
