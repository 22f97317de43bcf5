"""The answers the gateway writes itself: errors in the caller's format, the terminal
answer to an ended path, and the headers that name a conversation."""

from __future__ import annotations

from typing import Any

import aiohttp
import orjson
from aiohttp import web

from gateway.dialects import Dialect
from gateway.errors import HTTPError
from gateway.inspection import Inspection

# The client hung up while an answer was being written.
CLIENT_GONE = (ConnectionResetError, aiohttp.ClientConnectionResetError)


def error_response(dialect: Dialect, exc: HTTPError) -> web.Response:
    """The dialect's error body for `exc`, with its status."""
    body = dialect.error_body(exc.status, exc.error_type, exc.message, exc.param)
    return web.Response(status=exc.status, body=body, content_type="application/json")


async def answer_and_close(request: web.Request, response: web.Response) -> web.Response:
    """Send `response`, then close the connection: a client that timed out sending its body
    may still be sending it, and no later request can follow on this connection."""
    response.force_close()
    try:
        await response.prepare(request)
        await response.write_eof()
    except CLIENT_GONE:
        pass
    # Not aiohttp's lingering close (up to 10 s more reading the slow body): the transport
    # sends what is written, then closes.
    request.protocol.force_close()
    return response


CONVERSATION_ID = "X-Conversation-Id"
CONVERSATION_STATUS = "X-Conversation-Status"
# Opt-in to named `conversation_ended` / `crisis_resources` SSE events (Anthropic streams
# only): strict clients reject event types they do not know, so none are sent by default.
NAMED_EVENTS = "X-Lastword-Named-Events"


def terminal_response(
    dialect: Dialect, inspection: Inspection, resources: dict[str, Any] | None = None
) -> web.Response:
    """The answer to a request that continues an ended path: 410 Gone, never retried.

    Not 409: some client libraries retry a 409 whatever the headers say; none retries a
    410. A person writing in crisis into an ended thread still gets the helplines.
    """
    ended = inspection.conversation()
    body = dialect.error_object(
        410,
        "conversation_ended",
        "This conversation has ended. Start a new conversation, or edit an earlier message.",
        None,
    )
    body["conversation_ended"] = ended
    if resources is not None:
        body["crisis_resources"] = resources
    return web.Response(
        status=410,
        body=orjson.dumps(body),
        content_type="application/json",
        headers={
            CONVERSATION_ID: ended["id"],
            CONVERSATION_STATUS: "ended",
            "x-should-retry": "false",
            "cache-control": "no-store",
        },
    )
