"""A body the gateway cannot read whole gets a 400 in its API's format and never goes upstream."""

from __future__ import annotations

from typing import Any

import pytest
from aiohttp.test_utils import TestServer

from tests.dialects.malformed_corpus import CORPUS, PATHS, VALID
from tests.dialects.recorder import Recorder
from tests.test_proxy import assert_error_shape, post


def _problem(api: str, status: int, answer: Any, content_type: str) -> str | None:
    """What is wrong with the gateway's answer to a malformed body, if anything."""
    if status != 400:
        return f"status {status}"
    if not content_type.startswith("application/json") or not isinstance(answer, dict):
        return "not a JSON error body"
    try:
        assert_error_shape(api, answer, "invalid_request_error")
        assert answer["error"]["message"]
    except (AssertionError, KeyError):
        return f"not in the API's error format: {answer}"
    return None


@pytest.mark.parametrize("api", PATHS)
async def test_every_malformed_body_gets_a_400_and_is_not_forwarded(
    api: str, recorded_gateway: TestServer, recorder: Recorder
) -> None:
    """Each malformed body: 400 (never 5xx), the API's own error body, upstream never called."""
    failures: list[str] = []
    cases = [(name, body) for a, name, body in CORPUS if a == api]
    for name, body in cases:
        status, answer, headers = await post(recorded_gateway, PATHS[api], body)
        problem = _problem(api, status, answer, headers.get("Content-Type", ""))
        if problem is not None:
            failures.append(f"{name}: {problem}")
        if recorder.calls:
            failures.append(f"{name}: forwarded upstream")
            recorder.calls.clear()
    assert failures == []
    # A valid request after all of them is served and forwarded: the refusals were the shapes.
    status, _, _ = await post(recorded_gateway, PATHS[api], VALID[api])
    assert status == 200
    assert len(recorder.calls) == 1


def test_the_corpus_covers_every_api_broadly() -> None:
    """At least 150 malformed bodies, at least 50 for each API, each named once."""
    assert len(CORPUS) >= 150
    for api in PATHS:
        assert sum(1 for a, _, _ in CORPUS if a == api) >= 50
    names = [(api, name) for api, name, _ in CORPUS]
    assert len(names) == len(set(names))
