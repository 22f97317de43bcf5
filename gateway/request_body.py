"""Reading a client's request body: within a deadline, within the size limit, decoded.

The server hands the body over as sent (aiohttp's own decoding is off, see `app.py`): a
compressed body is decoded here as it arrives (`content_coding`), so that a body the
gateway cannot decode is a 4xx in the caller's format, and a small body that inflates past
the limit (a decompression bomb) stops at the limit.
"""

from __future__ import annotations

import asyncio

from aiohttp import web
from aiohttp.web_protocol import RequestPayloadError

from gateway.content_coding import BadEncoding, BodyDecoder, UnsupportedEncoding, codings
from gateway.errors import BodyTooLarge, GatewayError, HTTPError


class RequestTimeout(HTTPError):
    """The client did not send its whole body within `body_timeout` (408)."""

    status = 408
    error_type = "request_timeout"


class ClientDisconnected(GatewayError):
    """The client closed the connection before its body arrived: nobody to answer."""


_REASONS: dict[type[BaseException], str] = {
    RequestTimeout: "timeout",
    BodyTooLarge: "too_large",
    UnsupportedEncoding: "unsupported_encoding",
    BadEncoding: "bad_encoding",
    ClientDisconnected: "client_disconnected",
}


def failure_reason(exc: BaseException) -> str:
    """The `reason` label of a body that could not be read."""
    return _REASONS.get(type(exc), "other")


async def read_body(request: web.Request, *, limit: int, within: float) -> bytes:
    """The request's body, decoded; read within `within` seconds and `limit` bytes.

    Raises `RequestTimeout` (408), `BodyTooLarge` (413), `UnsupportedEncoding` (415),
    `BadEncoding` (400) or `ClientDisconnected`.
    """
    if (request.content_length or 0) > limit:
        raise BodyTooLarge(f"The request body is larger than {limit} bytes.")
    coding = request.headers.get("Content-Encoding")
    names = codings(coding) if coding else []
    decoder = BodyDecoder(names, limit) if names else None
    raw = bytearray()
    try:
        if decoder is None and request.content.is_eof():
            # The whole body arrived with the headers (as a small one does): nothing to
            # wait for, so no deadline to arm.
            body = request.content.read_nowait()
            if len(body) > limit:
                raise BodyTooLarge(f"The request body is larger than {limit} bytes.")
            return body
        async with asyncio.timeout(within):
            async for chunk in request.content.iter_any():
                if decoder is not None:
                    decoder.feed(chunk)
                    continue
                raw += chunk
                if len(raw) > limit:
                    raise BodyTooLarge(f"The request body is larger than {limit} bytes.")
    except TimeoutError:
        raise RequestTimeout(
            f"The request body did not arrive within {within:g} seconds."
        ) from None
    except (ConnectionResetError, RequestPayloadError) as exc:
        if isinstance(exc, RequestPayloadError) and not _closing(request):
            raise BadEncoding("The request body is not framed as its headers say.") from None
        raise ClientDisconnected("the client closed the connection") from None
    return decoder.result() if decoder is not None else bytes(raw)


def _closing(request: web.Request) -> bool:
    transport = request.transport
    return transport is None or transport.is_closing()
