"""Error bodies in each API's own format, as the real services send them."""

from __future__ import annotations

from typing import Final

from gateway.simulate.wire import Family, JSONObject, new_id

_ANTHROPIC_TYPES: Final[dict[int, str]] = {
    400: "invalid_request_error",
    401: "authentication_error",
    402: "billing_error",
    403: "permission_error",
    404: "not_found_error",
    408: "timeout_error",
    413: "request_too_large",
    429: "rate_limit_error",
    500: "api_error",
    504: "timeout_error",
    529: "overloaded_error",
}
_OPENAI_TYPES: Final[dict[int, tuple[str, str | None]]] = {
    400: ("invalid_request_error", None),
    401: ("invalid_request_error", "invalid_api_key"),
    403: ("invalid_request_error", "unsupported_country_region_territory"),
    404: ("invalid_request_error", "unknown_url"),
    429: ("requests", "rate_limit_exceeded"),
    500: ("server_error", None),
    503: ("server_error", "service_unavailable"),
}
_MESSAGES: Final[dict[int, str]] = {
    400: "The request is invalid.",
    401: "Invalid API key.",
    402: "Your credit balance is too low.",
    403: "Your API key does not have permission to use this resource.",
    404: "The requested resource could not be found.",
    408: "The request timed out.",
    413: "The request exceeds the maximum allowed size.",
    429: "Rate limit reached. Please try again later.",
    500: "An unexpected error occurred on the server.",
    503: "The service is temporarily unavailable.",
    504: "The request timed out upstream.",
    529: "Overloaded.",
}


def default_message(status: int) -> str:
    """A short human-readable message for an HTTP error status."""
    return _MESSAGES.get(status, f"Simulated error with status {status}.")


def anthropic_error(status: int, message: str) -> JSONObject:
    """``{"type": "error", "error": {"type", "message"}, "request_id"}``."""
    kind = _ANTHROPIC_TYPES.get(status, "api_error" if status >= 500 else "invalid_request_error")
    return {
        "type": "error",
        "error": {"type": kind, "message": message},
        "request_id": new_id("req_011C"),
    }


def openai_error(status: int, message: str) -> JSONObject:
    """``{"error": {"message", "type", "param", "code"}}``."""
    default = ("server_error", None) if status >= 500 else ("invalid_request_error", None)
    kind, code = _OPENAI_TYPES.get(status, default)
    return {"error": {"message": message, "type": kind, "param": None, "code": code}}


def error_body(family: Family, status: int, message: str | None = None) -> JSONObject:
    """The error body for ``status`` in the given API family's format."""
    text = message or default_message(status)
    return anthropic_error(status, text) if family == "anthropic" else openai_error(status, text)
