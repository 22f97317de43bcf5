"""Simulator settings and the per-request overrides carried in ``x-sim-*`` headers."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Final, Literal, get_args

RefusalStyle = Literal["signal", "text"]

_REFUSAL_STYLES: Final = frozenset(get_args(RefusalStyle))


class OverrideError(ValueError):
    """An ``x-sim-*`` header carries a value the simulator cannot use."""


@dataclass(frozen=True)
class SimulatorSettings:
    """How the simulated model behaves unless a request's headers say otherwise."""

    token_delay: float = 0.0
    """Seconds to wait before each streamed delta."""
    refusal_style: RefusalStyle = "signal"
    """``signal``: the provider's refusal signal; ``text``: an ordinary answer that refuses."""
    refuse_all: bool = False
    """An over-refusing model: every request is refused."""
    end_all: bool = False
    """An over-eager model: every request gets the ``end_conversation`` tool call, when offered."""
    end_after_refusals: int = 2
    """Prior refusals after which a harmful turn gets the ``end_conversation`` tool call."""
    fault_after: int | None = None
    """Abort the connection after this many SSE events (or mid-body when not streaming)."""
    reply_words: int | None = None
    """Length of a benign answer, in filler words; None: a short, plausible reply."""

    def __post_init__(self) -> None:
        if self.token_delay < 0:
            raise ValueError("token_delay must be >= 0")
        if self.refusal_style not in _REFUSAL_STYLES:
            raise ValueError(f"refusal_style must be one of {sorted(_REFUSAL_STYLES)}")
        if self.end_after_refusals < 0:
            raise ValueError("end_after_refusals must be >= 0")
        if self.fault_after is not None and self.fault_after < 0:
            raise ValueError("fault_after must be >= 0")
        if self.reply_words is not None and self.reply_words < 1:
            raise ValueError("reply_words must be >= 1")


@dataclass(frozen=True)
class RequestOptions:
    """The settings in force for one request, after its ``x-sim-*`` headers are applied."""

    settings: SimulatorSettings
    status: int | None = None
    """Answer with this HTTP error status instead of a completion."""
    hang: float = 0.0
    """Seconds to wait before sending response headers."""
    events: int | None = None
    """Exact number of text deltas (streaming) or words (non-streaming) of a benign answer."""
    echo_headers: bool = False
    """Answer with a JSON dump of the received request headers."""


def _integer(headers: Mapping[str, str], name: str, minimum: int) -> int | None:
    raw = headers.get(name)
    if raw is None:
        return None
    try:
        value = int(raw.strip())
    except ValueError:
        raise OverrideError(f"{name}: expected an integer, got {raw!r}") from None
    if value < minimum:
        raise OverrideError(f"{name}: must be >= {minimum}, got {value}")
    return value


def _flag(headers: Mapping[str, str], name: str) -> bool | None:
    raw = headers.get(name)
    if raw is None:
        return None
    value = raw.strip().lower()
    if value in {"1", "true", "yes", "on"}:
        return True
    if value in {"0", "false", "no", "off"}:
        return False
    raise OverrideError(f"{name}: expected 1 or 0, got {raw!r}")


def _refusal_style(headers: Mapping[str, str]) -> RefusalStyle | None:
    raw = headers.get("x-sim-refusal-style")
    if raw is None:
        return None
    style = raw.strip().lower()
    if style == "signal":
        return "signal"
    if style == "text":
        return "text"
    raise OverrideError(f"x-sim-refusal-style: expected signal or text, got {raw!r}")


def request_options(settings: SimulatorSettings, headers: Mapping[str, str]) -> RequestOptions:
    """Apply a request's ``x-sim-*`` headers (case-insensitive mapping) to ``settings``."""
    style = _refusal_style(headers)
    refuse_all = _flag(headers, "x-sim-refuse-all")
    end_all = _flag(headers, "x-sim-end-all")
    fault_after = _integer(headers, "x-sim-fault-after", 0)
    delay_ms = _integer(headers, "x-sim-token-delay-ms", 0)
    if (style, refuse_all, end_all, fault_after, delay_ms) != (None, None, None, None, None):
        settings = replace(
            settings,
            refusal_style=settings.refusal_style if style is None else style,
            refuse_all=settings.refuse_all if refuse_all is None else refuse_all,
            end_all=settings.end_all if end_all is None else end_all,
            fault_after=settings.fault_after if fault_after is None else fault_after,
            token_delay=settings.token_delay if delay_ms is None else delay_ms / 1000,
        )
    status = _integer(headers, "x-sim-status", 100)
    if status is not None and not 400 <= status <= 599:
        raise OverrideError(f"x-sim-status: expected a 4xx or 5xx status, got {status}")
    hang_ms = _integer(headers, "x-sim-hang-ms", 0)
    return RequestOptions(
        settings=settings,
        status=status,
        hang=(hang_ms or 0) / 1000,
        events=_integer(headers, "x-sim-events", 1),
        echo_headers=bool(_flag(headers, "x-sim-echo-headers")),
    )
