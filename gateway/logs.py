"""Structured logging: JSON in production, readable in a terminal, never a secret.

Global logging state lives here and nowhere else. Per-request context (`request_id`,
`conversation_id`) is bound with contextvars by the request handler.
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import MutableMapping
from typing import Any, TextIO

import orjson
import structlog

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


def redact_secrets(
    _logger: Any, _method: str, event_dict: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    """Replace credentials, by key or by look, before anything is rendered."""
    for key, value in list(event_dict.items()):
        event_dict[key] = REDACTED if key.lower() in _SECRET_KEYS else _scrub(value)
    return event_dict


def _orjson_dumps(value: Any, **_: Any) -> str:
    return orjson.dumps(value, default=str).decode()


def configure_logging(fmt: str = "json", level: str = "info", file: TextIO | None = None) -> None:
    """Set up structlog once per process (`file`: where lines go, stderr by default)."""
    renderer: Any = (
        structlog.processors.JSONRenderer(serializer=_orjson_dumps)
        if fmt == "json"
        else structlog.dev.ConsoleRenderer(colors=sys.stderr.isatty())
    )
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            redact_secrets,
            *([structlog.processors.dict_tracebacks] if fmt == "json" else []),
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(
            logging.getLevelNamesMapping()[level.upper()]
        ),
        logger_factory=structlog.PrintLoggerFactory(file or sys.stderr),
        cache_logger_on_first_use=False,
    )


def get_logger(name: str = "lastword") -> Any:
    """A bound logger for a module."""
    return structlog.get_logger(name)
