"""The classifier client: cache, timeouts, fail-open/closed, auth, sessions, settings."""

from __future__ import annotations

import asyncio
import socket

import aiohttp
import pytest
from aiohttp.test_utils import TestServer
from pydantic import ValidationError

from gateway.detect import NO_FLAGS, Flags, Match
from gateway.detect.classifier import (
    Classifier,
    ClassifierSettings,
    ClassifierUnavailable,
    ClassifierVerdict,
)
from tests.detect_classifier.conftest import MakeClassifier, Script, calls, moderation

FP_A, FP_B, FP_C = "a" * 64, "b" * 64, "c" * 64


async def test_same_fingerprint_is_classified_once(
    make_classifier: MakeClassifier, script: Script
) -> None:
    """Two calls for one turn reach the upstream once; the second is counted as cached."""
    script.answer = moderation("self-harm")
    classifier = make_classifier()
    cached_before = calls("cached")
    first = await classifier.classify("I want to die", FP_A)
    second = await classifier.classify("I want to die", FP_A)
    assert len(script.seen) == 1
    assert first == second
    assert second.categories == ("self_harm_suicide",)
    assert calls("cached") == cached_before + 1


async def test_different_fingerprints_are_classified_apart(
    make_classifier: MakeClassifier, script: Script
) -> None:
    """Another turn, even with the same text, is a new call."""
    classifier = make_classifier()
    await classifier.classify("same text", FP_A)
    await classifier.classify("same text", FP_B)
    assert len(script.seen) == 2


async def test_concurrent_calls_share_one_request(
    make_classifier: MakeClassifier, script: Script
) -> None:
    """Calls for one turn made while its request is in flight share that request."""
    script.delay = 0.1
    classifier = make_classifier()
    verdicts = await asyncio.gather(*(classifier.classify("t", FP_A) for _ in range(3)))
    assert len(script.seen) == 1
    assert all(v == verdicts[0] for v in verdicts)


async def test_a_caller_giving_up_does_not_cancel_the_shared_call(
    make_classifier: MakeClassifier, script: Script
) -> None:
    """A cancelled caller leaves the request running for the others and for the cache."""
    script.answer, script.delay = moderation("sexual/minors"), 0.1
    classifier = make_classifier()
    impatient = asyncio.create_task(classifier.classify("t", FP_A))
    patient = asyncio.create_task(classifier.classify("t", FP_A))
    await asyncio.sleep(0.02)
    impatient.cancel()
    verdict = await patient
    assert verdict.categories == ("csam",)
    assert impatient.cancelled()
    assert await classifier.classify("t", FP_A) == verdict
    assert len(script.seen) == 1


async def test_cache_evicts_the_least_recently_used(
    make_classifier: MakeClassifier, script: Script
) -> None:
    """With room for two turns, the turn used least recently is the one classified again."""
    classifier = make_classifier(cache_size=2)
    for fingerprint in (FP_A, FP_B, FP_A, FP_C, FP_A):
        await classifier.classify("t", fingerprint)
    assert len(script.seen) == 3
    await classifier.classify("t", FP_B)
    assert len(script.seen) == 4


async def test_cache_size_zero_disables_the_cache(
    make_classifier: MakeClassifier, script: Script
) -> None:
    """`cache_size: 0` classifies every call."""
    classifier = make_classifier(cache_size=0)
    await classifier.classify("t", FP_A)
    await classifier.classify("t", FP_A)
    assert len(script.seen) == 2


async def test_outcomes_are_counted(make_classifier: MakeClassifier, script: Script) -> None:
    """An answer with none of our categories is `ok`; one with ours is `flagged`."""
    classifier = make_classifier()
    ok, flagged = calls("ok"), calls("flagged")
    script.answer = moderation("violence")
    await classifier.classify("t", FP_A)
    script.answer = moderation("self-harm/intent")
    await classifier.classify("t", FP_B)
    assert (calls("ok"), calls("flagged")) == (ok + 1, flagged + 1)


async def test_timeout_fails_open(make_classifier: MakeClassifier, script: Script) -> None:
    """A slow upstream, failing open, gives no matches and `failed`, counted as a timeout."""
    script.answer, script.delay = moderation("sexual/minors"), 5.0
    before = calls("timeout")
    verdict = await make_classifier(timeout=0.05).classify("t", FP_A)
    assert verdict == ClassifierVerdict(matches=(), failed=True)
    assert calls("timeout") == before + 1


async def test_timeout_fails_closed(make_classifier: MakeClassifier, script: Script) -> None:
    """A slow upstream, failing closed, raises the 503 error."""
    script.delay = 5.0
    before = calls("timeout")
    with pytest.raises(ClassifierUnavailable) as raised:
        await make_classifier(timeout=0.05, fail_open=False).classify("t", FP_A)
    assert raised.value.status == 503
    assert raised.value.error_type == "classifier_unavailable"
    assert calls("timeout") == before + 1


async def test_failures_are_not_cached(make_classifier: MakeClassifier, script: Script) -> None:
    """After a failure, the same turn is tried again."""
    script.delay = 5.0
    classifier = make_classifier(timeout=0.05)
    assert (await classifier.classify("t", FP_A)).failed
    script.delay, script.answer = 0.0, moderation("self-harm")
    verdict = await classifier.classify("t", FP_A)
    assert not verdict.failed
    assert verdict.categories == ("self_harm_suicide",)
    assert len(script.seen) == 2


async def test_unreachable_upstream_is_an_error(session: aiohttp.ClientSession) -> None:
    """A refused connection fails open as an `error`."""
    # Bound and never listened on, for the whole test: refused, and no one else's port.
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
        settings = ClassifierSettings(url=f"http://127.0.0.1:{port}")
        before = calls("error")
        verdict = await Classifier(settings, session).classify("t", FP_A)
    assert verdict.failed
    assert calls("error") == before + 1


async def test_api_key_is_sent_as_bearer(make_classifier: MakeClassifier, script: Script) -> None:
    """The API key goes in the Authorization header."""
    await make_classifier(api_key="sk-test-123").classify("t", FP_A)
    assert script.seen[0].headers["Authorization"] == "Bearer sk-test-123"


async def test_no_api_key_no_authorization(make_classifier: MakeClassifier, script: Script) -> None:
    """Without an API key, no Authorization header is sent."""
    await make_classifier().classify("t", FP_A)
    assert "Authorization" not in script.seen[0].headers


async def test_owned_session_lifecycle(upstream: TestServer, script: Script) -> None:
    """A classifier without a session opens its own on start and closes it on close."""
    classifier = Classifier(ClassifierSettings(url=str(upstream.make_url("/v1"))))
    await classifier.start()
    try:
        assert not (await classifier.classify("t", FP_A)).failed
    finally:
        await classifier.close()
    assert script.seen[0].path == "/v1/moderations"


async def test_close_leaves_a_shared_session_open(
    make_classifier: MakeClassifier, session: aiohttp.ClientSession
) -> None:
    """Closing a classifier does not close the session it was given."""
    await make_classifier().close()
    assert not session.closed


async def test_close_cancels_calls_in_flight(
    make_classifier: MakeClassifier, script: Script
) -> None:
    """Closing cancels pending calls; their callers see the cancellation."""
    script.delay = 5.0
    classifier = make_classifier()
    pending = asyncio.create_task(classifier.classify("t", FP_A))
    await asyncio.sleep(0.02)
    await classifier.close()
    with pytest.raises(asyncio.CancelledError):
        await pending


async def test_unstarted_classifier_is_a_programming_error() -> None:
    """Classifying before `start()` without a session raises, rather than failing open."""
    classifier = Classifier(ClassifierSettings(url="http://127.0.0.1:9"))
    with pytest.raises(RuntimeError, match="start"):
        await classifier.classify("t", FP_A)


def test_verdict_merges_into_flags_by_kind() -> None:
    """A verdict's harmful and crisis matches join the rule packs' flags."""
    rule = Match("starter.weapons.en", "weapons_mass_casualty", "harmful")
    csam = Match("classifier.moderation.sexual/minors", "csam", "harmful")
    crisis = Match("classifier.moderation.self-harm", "self_harm_suicide", "crisis")
    merged = ClassifierVerdict((csam, crisis)).merged(Flags(harmful=(rule,)))
    assert merged == Flags(harmful=(rule, csam), crisis=(crisis,), distress=(crisis,))
    assert merged.categories == ("weapons_mass_casualty", "csam", "self_harm_suicide")
    assert ClassifierVerdict(failed=True).merged(NO_FLAGS) == NO_FLAGS


@pytest.mark.parametrize(
    ("given", "base"),
    [
        ("http://classifier:8000", "http://classifier:8000"),
        ("http://classifier:8000/", "http://classifier:8000"),
        ("https://api.openai.com/v1", "https://api.openai.com"),
        ("https://gw.example/guard/v1/", "https://gw.example/guard"),
    ],
)
def test_url_is_a_base(given: str, base: str) -> None:
    """The URL is kept as a base, without a trailing slash or `/v1`."""
    assert ClassifierSettings(url=given).url == base


@pytest.mark.parametrize(
    "values",
    [
        {"url": "classifier:8000"},
        {"url": "http://c", "kind": "llama_guard"},
        {"url": "http://c", "kind": "perspective"},
        {"url": "http://c", "timeout": 0},
        {"url": "http://c", "cache_size": -1},
        {"url": "http://c", "retries": 3},
    ],
)
def test_invalid_settings_are_refused(values: dict[str, object]) -> None:
    """Bad settings fail validation, naming the setting."""
    with pytest.raises(ValidationError):
        ClassifierSettings.model_validate(values)


def test_settings_defaults() -> None:
    """Defaults: moderation, one second, fail open, ten thousand cached turns."""
    settings = ClassifierSettings(url="http://c")
    assert (settings.kind, settings.timeout, settings.fail_open, settings.cache_size) == (
        "moderation",
        1.0,
        True,
        10_000,
    )
    assert "sk-" not in repr(ClassifierSettings(url="http://c", api_key="sk-secret"))
