"""The gateway's small exception hierarchy.

An `HTTPError` carries everything needed to answer the client in its own API dialect:
the status, an error type and a message. Rendering belongs to the dialect.
"""

from __future__ import annotations

from typing import Any


class GatewayError(Exception):
    """Base of every error the gateway raises on purpose."""


class HTTPError(GatewayError):
    """An error that maps to an HTTP answer in the caller's dialect."""

    status: int = 500
    error_type: str = "api_error"

    def __init__(self, message: str, *, param: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.param = param

    def __reduce__(self) -> tuple[Any, ...]:
        # Raised in another process (a body parsed off the loop), it arrives whole.
        return (_rebuild, (type(self), self.message, self.param))


def _rebuild(kind: type[HTTPError], message: str, param: str | None) -> HTTPError:
    return kind(message, param=param)


class BadRequest(HTTPError):
    """Malformed JSON or a body of the wrong shape (400)."""

    status = 400
    error_type = "invalid_request_error"


class BodyTooLarge(HTTPError):
    """The request body is over the configured limit (413)."""

    status = 413
    error_type = "request_too_large"


class UpstreamUnreachable(HTTPError):
    """The upstream could not be reached or closed before answering (502)."""

    status = 502
    error_type = "upstream_unreachable"


class UpstreamTimeout(HTTPError):
    """The upstream did not answer in time (504)."""

    status = 504
    error_type = "upstream_timeout"


class StoreUnavailable(HTTPError):
    """The state store failed and policy says to fail closed (503)."""

    status = 503
    error_type = "store_unavailable"


class InternalError(HTTPError):
    """A fault of the gateway itself (500): logged with its traceback, never sent."""

    status = 500
    error_type = "api_error"
