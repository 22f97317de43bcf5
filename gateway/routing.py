"""Request paths as an upstream reads them: one canonical spelling per route.

A proxy that routes on one spelling of a path and forwards another can be walked around:
`/v1/./messages` misses the inspected route here and is read as `/v1/messages` upstream.
So the gateway routes on the canonical path, sends exactly that path upstream, and refuses
(400) the spellings that servers read in different ways rather than guess.
"""

from __future__ import annotations

import string
from collections.abc import Callable
from functools import lru_cache

from aiohttp import web
from aiohttp.typedefs import Handler, Middleware
from yarl import URL

from gateway.dialects import ANTHROPIC, INSPECTED_ROUTES, OPENAI_CHAT, Dialect
from gateway.dialects.base import Family
from gateway.errors import BadRequest
from gateway.logs import get_logger

log = get_logger("lastword.routing")

_HEX = frozenset(string.hexdigits)
# RFC 3986 §2.3: an escape of one of these means the character itself (§6.2.2.2).
_UNRESERVED = frozenset(string.ascii_letters + string.digits + "-._~")
# Characters a path segment may hold unescaped (RFC 3986 `pchar`, less ";", see below).
_PATH_CHARS = _UNRESERVED | frozenset("!$&'()*+,=:@")
# Escapes that some servers decode into a delimiter before they route (a decoded "/" joins
# segments, a decoded "%" escapes again): the same bytes name different paths upstream.
_DELIMITER_ESCAPES = frozenset("/\\;?#%")
# Unescaped, "\" is a separator to some servers and ";" starts parameters that others
# strip (`/v1/messages;x` is `/v1/messages` to them): neither has one reading.
_AMBIGUOUS = frozenset("\\;")
# The gateway's own routes, matched regardless of case because some servers match so.
OWN_PATHS = frozenset({*INSPECTED_ROUTES, "/healthz", "/readyz", "/metrics"})
# First segments that are case-folded wherever they appear: the API version, and the admin
# API, which must never be forwarded whatever its spelling.
_FOLDED_ROOTS = frozenset({"v1", "admin"})


class AmbiguousPath(BadRequest):
    """A path that servers read in different ways, or not a path at all (400)."""


def _segment(raw: str) -> str:
    """One segment with unreserved escapes decoded, other escapes in upper case."""
    out: list[str] = []
    i = 0
    while i < len(raw):
        char = raw[i]
        if char == "%":
            digits = raw[i + 1 : i + 3]
            if len(digits) != 2 or not _HEX.issuperset(digits):
                raise AmbiguousPath("The path holds a malformed percent escape.")
            decoded = chr(int(digits, 16))
            if decoded in _UNRESERVED:
                out.append(decoded)
            elif decoded in _DELIMITER_ESCAPES or int(digits, 16) < 0x20 or decoded == "\x7f":
                raise AmbiguousPath(f"The path holds an escaped delimiter (%{digits.upper()}).")
            else:
                out.append("%" + digits.upper())
            i += 3
            continue
        if char in _AMBIGUOUS:
            raise AmbiguousPath(f"The path holds {char!r}, which servers read differently.")
        if char in _PATH_CHARS:
            out.append(char)
        else:
            # Not allowed raw in a URI: the only reading is the character itself.
            out.extend(f"%{byte:02X}" for byte in char.encode("utf-8"))
        i += 1
    return "".join(out)


def _resolve(segments: list[str], *, merge_first: bool) -> list[str]:
    """RFC 3986 §5.2.4 dot-segment removal, with empty segments merged first or after."""
    out: list[str] = []
    for segment in segments:
        if segment == "." or (merge_first and segment == ""):
            continue
        if segment == "..":
            if out:
                out.pop()
            continue
        out.append(segment)
    return [s for s in out if s]


# Clients send the same few paths again and again; a refusal (an exception) is not kept.
@lru_cache(maxsize=4096)
def canonical_path(raw: str) -> str:
    """The path `raw` (as sent, without query) names, in the one spelling the gateway uses.

    Unreserved escapes decoded, dot segments resolved, repeated and trailing slashes
    removed, `v1` and `admin` first segments and the gateway's own routes in lower case.
    Raises `AmbiguousPath` when servers would not all read `raw` as the same path.
    """
    if not raw.startswith("/"):
        raise AmbiguousPath("The request target must be a path starting with '/'.")
    segments = [_segment(s) for s in raw[1:].split("/")]
    # `/a//../b` is `/a/b` to a server that resolves dots as RFC 3986 says, `/b` to one
    # that merges slashes first: such a path has no single reading.
    resolved = _resolve(segments, merge_first=False)
    if resolved != _resolve(segments, merge_first=True):
        raise AmbiguousPath("The path's '..' segments resolve differently across '//'.")
    if resolved and resolved[0].lower() in _FOLDED_ROOTS:
        resolved[0] = resolved[0].lower()
    path = "/" + "/".join(resolved)
    return path.lower() if path.lower() in OWN_PATHS else path


def is_admin(path: str) -> bool:
    """Whether a canonical path belongs to the admin API."""
    return path == "/admin" or path.startswith("/admin/")


def family_of(request: web.BaseRequest) -> Family:
    """Which upstream a path that is not inspected goes to."""
    path = request.path
    if path.startswith("/v1/messages") or path.startswith("/v1/complete"):
        return "anthropic"
    if "anthropic-version" in request.headers or "x-api-key" in request.headers:
        return "anthropic"
    return "openai"


# Errors on paths that are not inspected are written in the family's main dialect.
ERROR_DIALECTS: dict[Family, Dialect] = {"anthropic": ANTHROPIC, "openai": OPENAI_CHAT}


def lenient_path(path: str) -> str:
    """The likeliest reading of any decoded path, in lower case: to choose an error format.

    Never routed on: `\\` read as `/`, parameters dropped, dots resolved, slashes merged.
    """
    segments = [s.partition(";")[0] for s in path.replace("\\", "/").split("/")]
    return "/" + "/".join(_resolve(segments, merge_first=True)).lower()


def error_dialect(request: web.BaseRequest) -> Dialect:
    """The dialect of the gateway's own error answers to `request`, whatever its path.

    A refused spelling of an inspected route is answered in that route's format.
    """
    return INSPECTED_ROUTES.get(lenient_path(request.path)) or ERROR_DIALECTS[family_of(request)]


def upstream_target(request: web.Request) -> str:
    """The path and query to send upstream: the routed path, the query as the client sent it."""
    url = request.rel_url
    query = url.raw_query_string
    return url.raw_path + ("?" + query if query else "")


RefusalRenderer = Callable[[web.Request, AmbiguousPath], web.StreamResponse]


def canonical_routing(refuse: RefusalRenderer) -> Middleware:
    """A middleware that routes every request on its canonical path; `refuse` answers a 400.

    aiohttp has matched the path as received. When that is not the canonical spelling,
    the request is matched again under its canonical path and handled as such, so the
    handler (and the upstream, through `upstream_target`) only ever sees the canonical one.
    It must be the innermost middleware: the handler matched again is called directly.
    """

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        url = request.rel_url
        try:
            if url.raw_fragment:
                raise AmbiguousPath("A request target cannot carry a fragment ('#').")
            path = canonical_path(url.raw_path)
        except AmbiguousPath as exc:
            log.info("path_refused", raw_path=url.raw_path[:200], error=exc.message)
            return refuse(request, exc)
        if path == url.raw_path:
            return await handler(request)
        log.debug("path_canonicalized", raw_path=url.raw_path[:200], path=path)
        query = url.raw_query_string
        routed = request.clone(rel_url=URL(path + ("?" + query if query else ""), encoded=True))
        match = await request.app.router.resolve(routed)
        match.add_app(request.app)
        match.freeze()
        # As aiohttp's own normalize_path_middleware does: the clone carries its match.
        routed._match_info = match
        return await match.handler(routed)

    return middleware
