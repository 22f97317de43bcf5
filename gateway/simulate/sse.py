"""Writing server-sent events one at a time, with token delays and injected faults."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable

import orjson
from aiohttp import web

from gateway.simulate.wire import SseEvent

SSE_HEADERS = {"Content-Type": "text/event-stream", "Cache-Control": "no-cache"}
_FLUSH_ATTEMPTS = 1000


def encode(event: SseEvent) -> bytes:
    """The wire bytes of one event: an optional ``event:`` line, a ``data:`` line, a blank line."""
    data = event.data if isinstance(event.data, str) else orjson.dumps(event.data).decode()
    head = f"event: {event.name}\n" if event.name is not None else ""
    return f"{head}data: {data}\n\n".encode()


async def abort(request: web.BaseRequest) -> None:
    """Drop the client connection without a clean end of the body.

    What was written so far is flushed first (``abort`` discards the transport's
    buffer), so a client sees exactly the bytes sent before the fault.
    """
    transport = request.transport
    if transport is None:
        return
    for _ in range(_FLUSH_ATTEMPTS):
        if transport.is_closing() or transport.get_write_buffer_size() == 0:
            break
        await asyncio.sleep(0.001)
    transport.abort()


async def write_events(
    request: web.BaseRequest,
    response: web.StreamResponse,
    events: Iterable[SseEvent],
    *,
    token_delay: float,
    fault_after: int | None,
) -> bool:
    """Write ``events`` as they are produced; False when the stream was cut short.

    With ``fault_after`` set, exactly that many events reach the wire before the
    connection is aborted, so clients see a stream that breaks mid-way.
    """
    sent = 0
    try:
        for event in events:
            if fault_after is not None and sent >= fault_after:
                await abort(request)
                return False
            if event.delta and token_delay > 0:
                await asyncio.sleep(token_delay)
            await response.write(encode(event))
            sent += 1
    except ConnectionError:
        return False
    return True
