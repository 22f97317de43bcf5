"""The pooled upstream client and the header rules a forwarding proxy must follow."""

from __future__ import annotations

import io

from aiohttp import ClientSession, ClientTimeout, DummyCookieJar, TCPConnector, web
from multidict import CIMultiDict, CIMultiDictProxy
from yarl import URL

from gateway.config import Settings
from gateway.dialects.base import Family

# RFC 9110 §7.6.1: connection-specific fields are not forwarded (plus the de facto ones).
HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "proxy-connection",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
    }
)
# Recomputed by the HTTP layer on each side.
_FRAMING = frozenset({"host", "content-length"})
# An inspected request body is forwarded decoded, without the coding the client labelled.
_DECODED_REQUEST = frozenset({"accept-encoding", "content-encoding"})
VIA = "1.1 lastword"
# Above this size aiohttp sends a body in pieces from a file-like object, not in one write.
_LARGE_BODY = 1 << 20


def body_payload(body: bytes) -> bytes | io.BytesIO:
    """The body as aiohttp should send it: small ones whole, large ones in pieces."""
    return body if len(body) <= _LARGE_BODY else io.BytesIO(body)


# What each direction drops, computed once; a `Connection` header's own tokens are added
# per message (rarely: HTTP/1.1 clients seldom send one).
_DROP_UP = HOP_BY_HOP | _FRAMING
_DROP_UP_DECODED = _DROP_UP | _DECODED_REQUEST
_DROP_DOWN = HOP_BY_HOP | _FRAMING
_DROP_DOWN_DECODED = _DROP_DOWN | {"content-encoding"}


def _connection_tokens(headers: CIMultiDictProxy[str] | CIMultiDict[str]) -> set[str]:
    tokens: set[str] = set()
    for value in headers.getall("connection", ()):
        tokens.update(t.strip().lower() for t in value.split(","))
    return tokens


def _kept(
    headers: CIMultiDictProxy[str] | CIMultiDict[str], drop: frozenset[str]
) -> CIMultiDict[str]:
    if "connection" in headers:
        drop = drop | _connection_tokens(headers)
    # A copy less the dropped names (each look-up in C) costs half of rebuilding the
    # headers from a filtered list; the order of what is kept is the same.
    out = headers.copy()
    for name in drop:
        if name in out:
            del out[name]  # every field of that name
    return out


def request_headers(request: web.Request, *, decode: bool) -> CIMultiDict[str]:
    """Headers to send upstream: the client's, less hop-by-hop, plus forwarding fields.

    With `decode`, the body goes up decoded (its Content-Encoding is dropped), and so is the
    client's Accept-Encoding, so the upstream answers in a form the gateway can read and the
    client library negotiates afresh with the gateway. Without it the body goes as sent.
    """
    out = _kept(request.headers, _DROP_UP_DECODED if decode else _DROP_UP)
    peer = request.remote or "unknown"
    prior = request.headers.get("x-forwarded-for")
    out["X-Forwarded-For"] = f"{prior}, {peer}" if prior else peer
    out.add("Via", VIA)
    return out


# aiohttp adds a User-Agent of its own to a request without one; the gateway adds none (a
# client's own goes through). It is asked per request, only of a request without one: a
# session-wide skip list makes aiohttp copy every request's headers to consult it.
_NO_USER_AGENT = ("User-Agent",)


def skipped_auto_headers(headers: CIMultiDict[str]) -> tuple[str, ...] | None:
    """The `skip_auto_headers` for a request with `headers`: no User-Agent of aiohttp's."""
    return None if "User-Agent" in headers else _NO_USER_AGENT


def response_headers(headers: CIMultiDictProxy[str], *, decoded: bool) -> CIMultiDict[str]:
    """Headers to send to the client: the upstream's, less hop-by-hop and framing."""
    out = _kept(headers, _DROP_DOWN_DECODED if decoded else _DROP_DOWN)
    out.add("Via", VIA)
    return out


class Upstreams:
    """One pooled HTTP client for both upstream families."""

    def __init__(self, settings: Settings) -> None:
        self._bases: dict[Family, str] = {
            "anthropic": settings.anthropic_upstream,
            "openai": settings.openai_upstream,
        }
        self._timeout = ClientTimeout(
            total=None, connect=settings.connect_timeout, sock_read=settings.upstream_timeout
        )
        self._session: ClientSession | None = None

    async def start(self) -> None:
        """Open the pool; called once at application start-up."""
        connector = TCPConnector(limit=0, ttl_dns_cache=300)
        self._session = ClientSession(
            connector=connector,
            # The pool serves every client: a cookie one upstream answer sets must reach
            # that client only, never ride on the next client's call (it still passes
            # through in the headers each way). No jar also means no per-call cookie lookup.
            cookie_jar=DummyCookieJar(),
            timeout=self._timeout,
            auto_decompress=True,
        )

    async def close(self) -> None:
        """Close the pool; called once at shutdown."""
        if self._session is not None:
            await self._session.close()

    @property
    def started(self) -> bool:
        """Whether the pool is open."""
        return self._session is not None and not self._session.closed

    @property
    def session(self) -> ClientSession:
        """The shared client session."""
        if self._session is None:
            raise RuntimeError("upstream pool used before start-up")
        return self._session

    def url(self, family: Family, target: str) -> URL:
        """The upstream URL for a routed path and query; a base ending in /v1 is not doubled.

        Built as already encoded: the client library must neither resolve nor re-quote
        what the gateway routed on (see `gateway.routing`).
        """
        base = self._bases[family]
        if base.endswith("/v1") and target.partition("?")[0][:4] in ("/v1", "/v1/"):
            target = target[3:]
        return URL(base + target, encoded=True)
