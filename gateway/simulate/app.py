"""The simulator's aiohttp application: routes, ``x-sim-*`` conditions, request log."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from typing import Final

import orjson
from aiohttp import web

from gateway.simulate import sse
from gateway.simulate.anthropic import AnthropicDialect
from gateway.simulate.behaviour import decide
from gateway.simulate.errors import error_body
from gateway.simulate.openai_chat import ChatDialect
from gateway.simulate.openai_responses import ResponsesDialect
from gateway.simulate.record import RequestLog
from gateway.simulate.settings import (
    OverrideError,
    RequestOptions,
    SimulatorSettings,
    request_options,
)
from gateway.simulate.wire import BadRequest, Dialect, Family, new_id

ANTHROPIC: Final = AnthropicDialect()
CHAT: Final = ChatDialect()
RESPONSES: Final = ResponsesDialect()

Handler = Callable[[web.Request, RequestOptions, bytes], Awaitable[web.StreamResponse]]


# A log object rather than the request itself: a started application's state must not
# be reassigned, so handlers append to this one holder instead.
LAST_REQUEST: Final = web.AppKey("LAST_REQUEST", RequestLog)
SETTINGS: Final = web.AppKey("SIMULATOR_SETTINGS", SimulatorSettings)


def family_of(request: web.Request) -> Family:
    """Which API family a request belongs to, for its error format."""
    path = request.path
    if path.startswith("/v1/messages"):
        return "anthropic"
    if path.startswith(("/v1/chat", "/v1/responses")):
        return "openai"
    return "anthropic" if "anthropic-version" in request.headers else "openai"


def _id_headers(family: Family) -> dict[str, str]:
    return {"request-id" if family == "anthropic" else "x-request-id": new_id("req_")}


def error_response(family: Family, status: int, message: str | None = None) -> web.Response:
    """An error answer in the family's own format."""
    return web.Response(
        status=status,
        body=orjson.dumps(error_body(family, status, message)),
        content_type="application/json",
        headers=_id_headers(family),
    )


def _json_response(family: Family, body: bytes) -> web.Response:
    return web.Response(body=body, content_type="application/json", headers=_id_headers(family))


def _simulated(handler: Handler) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    """Record the request, then apply its ``x-sim-*`` hang and status before ``handler``."""

    async def wrapped(request: web.Request) -> web.StreamResponse:
        body = await request.read()
        request.app[LAST_REQUEST].record(request, body)
        family = family_of(request)
        try:
            options = request_options(request.app[SETTINGS], request.headers)
        except OverrideError as exc:
            return error_response(family, 400, str(exc))
        if options.hang > 0:
            await asyncio.sleep(options.hang)
        if options.status is not None:
            return error_response(family, options.status)
        return await handler(request, options, body)

    return wrapped


def _load(body: bytes) -> object:
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise BadRequest(f"request body is not valid JSON: {exc}") from None


async def _cut_body(request: web.Request, family: Family, payload: bytes) -> web.StreamResponse:
    """Announce the whole body, send half of it, then drop the connection."""
    response = web.StreamResponse(headers=_id_headers(family))
    response.content_type = "application/json"
    response.content_length = len(payload)
    await response.prepare(request)
    await response.write(payload[: len(payload) // 2])
    await sse.abort(request)
    return response


async def _complete(
    request: web.Request, options: RequestOptions, body: bytes, dialect: Dialect
) -> web.StreamResponse:
    try:
        parsed = dialect.parse(_load(body))
    except BadRequest as exc:
        return error_response(dialect.family, 400, str(exc))
    reply = decide(parsed.conversation, options, request.headers)
    settings = options.settings
    if not parsed.stream:
        payload = orjson.dumps(dialect.body(reply, parsed))
        if settings.fault_after is not None:
            return await _cut_body(request, dialect.family, payload)
        return _json_response(dialect.family, payload)
    response = web.StreamResponse(headers={**sse.SSE_HEADERS, **_id_headers(dialect.family)})
    await response.prepare(request)
    finished = await sse.write_events(
        request,
        response,
        dialect.events(reply, parsed),
        token_delay=settings.token_delay,
        fault_after=settings.fault_after,
    )
    if finished:
        with contextlib.suppress(ConnectionError):
            await response.write_eof()
    return response


@_simulated
async def messages(
    request: web.Request, options: RequestOptions, body: bytes
) -> web.StreamResponse:
    """``POST /v1/messages``."""
    return await _complete(request, options, body, ANTHROPIC)


@_simulated
async def chat_completions(
    request: web.Request, options: RequestOptions, body: bytes
) -> web.StreamResponse:
    """``POST /v1/chat/completions``."""
    return await _complete(request, options, body, CHAT)


@_simulated
async def responses(
    request: web.Request, options: RequestOptions, body: bytes
) -> web.StreamResponse:
    """``POST /v1/responses``."""
    return await _complete(request, options, body, RESPONSES)


@_simulated
async def count_tokens(
    request: web.Request, options: RequestOptions, body: bytes
) -> web.StreamResponse:
    """``POST /v1/messages/count_tokens``: ``{"input_tokens": N}``."""
    try:
        counted = ANTHROPIC.count_tokens(_load(body))
        return _json_response("anthropic", orjson.dumps(counted))
    except BadRequest as exc:
        return error_response("anthropic", 400, str(exc))


_ANTHROPIC_MODELS: Final = [
    {
        "type": "model",
        "id": "claude-sonnet-5",
        "display_name": "Claude Sonnet 5 (simulated)",
        "created_at": "2026-01-01T00:00:00Z",
        "lifecycle": "active",
        "max_input_tokens": 200000,
        "max_tokens": 64000,
    },
    {
        "type": "model",
        "id": "claude-haiku-5-5",
        "display_name": "Claude Haiku 5.5 (simulated)",
        "created_at": "2026-01-01T00:00:00Z",
        "lifecycle": "active",
        "max_input_tokens": 200000,
        "max_tokens": 64000,
    },
]
_OPENAI_MODELS: Final = [
    {"id": "gpt-4o", "object": "model", "created": 1715367049, "owned_by": "system"},
    {"id": "gpt-4.1", "object": "model", "created": 1744316542, "owned_by": "system"},
]


@_simulated
async def models(request: web.Request, options: RequestOptions, body: bytes) -> web.StreamResponse:
    """``GET /v1/models``: an Anthropic page with ``anthropic-version``, else an OpenAI list."""
    if family_of(request) == "anthropic":
        page = {
            "data": _ANTHROPIC_MODELS,
            "has_more": False,
            "first_id": _ANTHROPIC_MODELS[0]["id"],
            "last_id": _ANTHROPIC_MODELS[-1]["id"],
        }
        return _json_response("anthropic", orjson.dumps(page))
    return _json_response("openai", orjson.dumps({"object": "list", "data": _OPENAI_MODELS}))


@_simulated
async def not_found(
    request: web.Request, options: RequestOptions, body: bytes
) -> web.StreamResponse:
    """Any other path: 404 in the matching API's error format."""
    message = f"Unknown route: {request.method} {request.path}"
    return error_response(family_of(request), 404, message)


def create_simulator_app(settings: SimulatorSettings | None = None) -> web.Application:
    """The simulated upstream speaking Anthropic Messages, Chat Completions and Responses."""
    app = web.Application(client_max_size=64 * 1024 * 1024)
    app[SETTINGS] = settings or SimulatorSettings()
    app[LAST_REQUEST] = RequestLog()
    app.router.add_post("/v1/messages", messages)
    app.router.add_post("/v1/messages/count_tokens", count_tokens)
    app.router.add_get("/v1/models", models)
    app.router.add_post("/v1/chat/completions", chat_completions)
    app.router.add_post("/v1/responses", responses)
    app.router.add_route("*", "/{tail:.*}", not_found)
    return app


def run_simulator(host: str, port: int, settings: SimulatorSettings) -> None:
    """Serve the simulator until interrupted (``lastword simulate``)."""
    web.run_app(create_simulator_app(settings), host=host, port=port)
