"""Anthropic callers only ever meet error types Anthropic's own API has."""

from __future__ import annotations

import orjson
import pytest

from gateway.detect.classifier import ClassifierUnavailable
from gateway.dialects import ANTHROPIC
from gateway.dialects.anthropic import NATIVE_TYPES
from gateway.errors import HTTPError


def _all_errors(cls: type[HTTPError]) -> list[type[HTTPError]]:
    out: list[type[HTTPError]] = []
    for sub in cls.__subclasses__():
        out += [sub, *_all_errors(sub)]
    return out


ERRORS = sorted({(e.status, e.error_type) for e in _all_errors(HTTPError)})
# Kinds the proxy writes as in-stream error events.
STREAM_KINDS = [
    "upstream_timeout",
    "upstream_unreachable",
    "upstream_incomplete",
    "upstream_event_too_large",
    "api_error",
]


@pytest.mark.parametrize(("status", "error_type"), ERRORS)
def test_every_gateway_error_is_written_in_anthropic_types(status: int, error_type: str) -> None:
    """Each of the gateway's error classes renders with a type Anthropic's API sends."""
    body = ANTHROPIC.error_object(status, error_type, "m", None)
    assert body["error"]["type"] in NATIVE_TYPES, error_type


@pytest.mark.parametrize("kind", STREAM_KINDS)
def test_every_in_stream_error_is_written_in_anthropic_types(kind: str) -> None:
    """In-stream error events, too; a timeout stays a timeout."""
    raw = ANTHROPIC.stream_error_event(kind, "m")
    data = orjson.loads(raw.split(b"data: ", 1)[1])
    assert data["error"]["type"] in NATIVE_TYPES
    if "timeout" in kind:
        assert data["error"]["type"] == "timeout_error"


def test_the_classifier_outage_is_an_api_error() -> None:
    """Failing closed on the classifier reads as Anthropic's own api_error."""
    error = ClassifierUnavailable("down")
    body = ANTHROPIC.error_object(error.status, error.error_type, error.message, None)
    assert body["error"]["type"] == "api_error"


def test_the_terminal_answer_keeps_its_own_type() -> None:
    """`conversation_ended` is the contract's name and stays as it is."""
    body = ANTHROPIC.error_object(410, "conversation_ended", "m", None)
    assert body["error"]["type"] == "conversation_ended"
