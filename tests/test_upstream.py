"""Upstream URLs: built from exactly the routed path, never cleaned up or re-quoted again."""

from __future__ import annotations

import pytest

from gateway.config import Settings
from gateway.dialects.base import Family
from gateway.upstream import Upstreams

UPSTREAMS = Upstreams(
    Settings(anthropic_upstream="http://a.test", openai_upstream="http://o.test/proxy/v1")
)


@pytest.mark.parametrize(
    ("family", "target", "url"),
    [
        ("anthropic", "/v1/messages", "http://a.test/v1/messages"),
        ("openai", "/v1/chat/completions", "http://o.test/proxy/v1/chat/completions"),
        ("openai", "/v1", "http://o.test/proxy/v1"),
        ("openai", "/v1?x=1", "http://o.test/proxy/v1?x=1"),
        ("openai", "/v10/x", "http://o.test/proxy/v1/v10/x"),
        ("openai", "/other", "http://o.test/proxy/v1/other"),
        # Escapes and queries go out byte for byte: no decoding, re-quoting or case change.
        ("anthropic", "/v1/files/a%3Ab%7E", "http://a.test/v1/files/a%3Ab%7E"),
        (
            "anthropic",
            "/v1/models?after=a%2fb&x=%7e+y&&z",
            "http://a.test/v1/models?after=a%2fb&x=%7e+y&&z",
        ),
    ],
)
def test_the_url_holds_the_routed_target_unchanged(family: Family, target: str, url: str) -> None:
    """The base (without a doubled /v1) plus the target, exactly as given."""
    built = UPSTREAMS.url(family, target)
    assert str(built) == url
    assert built.raw_path_qs == url.split(".test", 1)[1]
