"""Logs: one JSON event per request with its context, and never a secret or message text."""

from __future__ import annotations

import io
import logging
import re
from collections.abc import Iterator
from datetime import UTC, datetime

import orjson
import pytest

from gateway.logs import REDACTED, configure_logging, get_logger
from tests.conftest import GatewayFactory
from tests.e2e.conversation_play import AFTER, HARMFUL, play_until_ended, turn
from tests.e2e.sdk_calls import KEY


@pytest.fixture
def log_lines() -> Iterator[io.StringIO]:
    """Real JSON log output of the gateway, captured."""
    out = io.StringIO()
    configure_logging("json", "info", out)
    yield out
    configure_logging("console", "warning")


async def test_requests_are_logged_with_context_and_no_secret_or_text(
    make_gateway: GatewayFactory, log_lines: io.StringIO
) -> None:
    """Each request: one `request` event with ids and timings; no key, no message text."""
    gateway = await make_gateway(policy={"model_can_end": False})
    history = await play_until_ended(gateway)
    await turn(gateway, "anthropic", history, AFTER)
    text = log_lines.getvalue()
    events = [orjson.loads(line) for line in text.splitlines()]
    requests = [e for e in events if e["event"] == "request"]
    assert len(requests) == 5
    for event in requests:
        assert event["request_id"] and event["conversation_id"].startswith("conv_")
        assert len(event["tenant"]) == 24
        assert event["dialect"] == "anthropic"
        assert "duration_ms" in event and "outcome" in event
    assert [e["outcome"] for e in requests][-1] == "refused_ended"
    assert any(e["event"] == "conversation_ended" for e in events)
    assert KEY not in text
    for sentence in [*HARMFUL, AFTER]:
        assert sentence not in text


def test_the_redaction_processor_hides_credentials(log_lines: io.StringIO) -> None:
    """Secrets are redacted by key and by look, however they reach a log call."""
    get_logger("test").info(
        "oops",
        authorization=f"Bearer {KEY}",
        headers={"x-api-key": KEY, "accept": "json"},
        note=f"client sent {KEY} by mistake",
    )
    event = orjson.loads(log_lines.getvalue())
    assert KEY not in log_lines.getvalue()
    assert event["authorization"] == REDACTED
    assert event["headers"] == {"x-api-key": REDACTED, "accept": "json"}
    assert REDACTED in event["note"]


@pytest.mark.parametrize(
    "value",
    [
        "Bearer abc.def",
        ["ok", "sk-ant-api03-abcdefghijkl"],
        ("x", {"nested": "Bearer t0ken"}),
        {"deeper": ["sk-proj-0123456789"]},
    ],
)
def test_secrets_are_redacted_wherever_they_sit(log_lines: io.StringIO, value: object) -> None:
    """A credential's look is caught in a plain string, a list, a tuple or a dict."""
    get_logger("test").info("oops", field=value, count=3, ratio=0.5, flag=True, none=None)
    text = log_lines.getvalue()
    event = orjson.loads(text)
    assert "abcdefghijkl" not in text and "t0ken" not in text and "0123456789" not in text
    assert "abc.def" not in text
    assert REDACTED in text
    assert (event["count"], event["ratio"], event["flag"], event["none"]) == (3, 0.5, True, None)


def test_timestamps_read_as_structlogs_iso_utc_stamps(log_lines: io.StringIO) -> None:
    """Each record's timestamp is ISO 8601 UTC with microseconds, within a second of now."""
    before = datetime.now(UTC)
    for _ in range(3):
        get_logger("test").info("tick")
    stamps = [orjson.loads(line)["timestamp"] for line in log_lines.getvalue().splitlines()]
    for stamp in stamps:
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{6})?Z", stamp), stamp
        at = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
        assert abs((at - before).total_seconds()) < 5


@pytest.mark.parametrize(
    ("message", "args", "event"),
    [
        ("Error handling request from %s", ("127.0.0.1",), "Error handling request from 127.0.0.1"),
        (
            "Task exception was never retrieved\nfuture: <Task exception=ValueError('%s')>",
            (HARMFUL[0],),
            "Task exception was never retrieved",
        ),
        (
            "Exception in callback Handler.done(%r)",
            ({"x-api-key": KEY},),
            "Exception in callback Handler.done",
        ),
        ("Unclosed client session", (), "Unclosed client session"),
        ("cannot parse '%s'", (HARMFUL[0],), "cannot parse"),
    ],
)
def test_library_records_are_json_lines_cut_before_any_quoted_object(
    log_lines: io.StringIO, message: str, args: tuple[object, ...], event: str
) -> None:
    """A stdlib record is one JSON line: its logger, and its message before any repr."""
    logging.getLogger("aiohttp.server").error(message, *args)
    record = orjson.loads(log_lines.getvalue())
    assert record["event"] == event
    assert record["logger"] == "aiohttp.server"
    assert record["level"] == "error"
    assert KEY not in log_lines.getvalue()
    assert HARMFUL[0] not in log_lines.getvalue()


def test_a_module_logger_follows_a_new_configuration() -> None:
    """A logger made before configure_logging writes where, and at the level, it now says."""
    log = get_logger("lastword.test")
    first, second = io.StringIO(), io.StringIO()
    try:
        configure_logging("json", "warning", first)
        log.info("dropped")
        log.warning("kept", n=1)
        configure_logging("json", "info", second)
        log.info("now_kept")
    finally:
        configure_logging("console", "warning")
    assert [orjson.loads(line)["event"] for line in first.getvalue().splitlines()] == ["kept"]
    assert [orjson.loads(line)["event"] for line in second.getvalue().splitlines()] == ["now_kept"]
