"""The fastest reasonable stand-in for the Anthropic and OpenAI APIs, for benchmarks.

Every answer is precomputed at start: a request costs reading its body and one regular
expression search for `"stream": true`, nothing more, so the mock stays well below the
cost of whatever is measured in front of it.

    python bench/mock_upstream.py --port 9001 [--deltas 20]
"""

from __future__ import annotations

import argparse
import asyncio
import re
from collections.abc import Awaitable, Callable, Mapping
from contextlib import suppress
from dataclasses import dataclass

import orjson
import uvloop
from aiohttp import web

ANTHROPIC_MODEL = "claude-sonnet-4-5-20250929"
OPENAI_MODEL = "gpt-4o-2024-08-06"
CREATED = 1732700000
_STREAM_TRUE = re.compile(rb'"stream"\s*:\s*true')
_ANSWER = (
    "Sure. A rolling deploy replaces instances a few at a time, so capacity never drops "
    "below what the traffic needs; keep the health check strict, drain connections before "
    "stopping each old instance, and watch the error rate between batches."
)
_WORDS = _ANSWER.split(" ")


@dataclass(frozen=True, slots=True)
class Canned:
    """One route's two precomputed answers: a JSON body and an SSE stream, event by event."""

    body: bytes
    body_headers: Mapping[str, str]
    events: tuple[bytes, ...]
    stream_headers: Mapping[str, str]


def text_pieces(deltas: int) -> list[str]:
    """`deltas` word-sized text pieces, as a model would stream them."""
    return [(" " if i else "") + _WORDS[i % len(_WORDS)] for i in range(deltas)]


def _sse(event: str, data: object) -> bytes:
    return b"event: " + event.encode() + b"\ndata: " + orjson.dumps(data) + b"\n\n"


def anthropic(deltas: int) -> Canned:
    """A Messages `message` body and its `message_start` ... `message_stop` stream."""
    pieces = text_pieces(deltas)
    usage = {
        "input_tokens": 412,
        "cache_creation_input_tokens": 0,
        "cache_read_input_tokens": 0,
        "output_tokens": deltas,
        "service_tier": "standard",
    }
    message = {
        "id": "msg_01XFDUDYJgAACzvnptvVoYEL",
        "type": "message",
        "role": "assistant",
        "model": ANTHROPIC_MODEL,
        "content": [{"type": "text", "text": "".join(pieces)}],
        "stop_reason": "end_turn",
        "stop_sequence": None,
        "usage": usage,
    }
    start = {**message, "content": [], "stop_reason": None, "usage": {**usage, "output_tokens": 1}}
    events = [
        _sse("message_start", {"type": "message_start", "message": start}),
        _sse(
            "content_block_start",
            {
                "type": "content_block_start",
                "index": 0,
                "content_block": {"type": "text", "text": ""},
            },
        ),
        _sse("ping", {"type": "ping"}),
        *(
            _sse(
                "content_block_delta",
                {
                    "type": "content_block_delta",
                    "index": 0,
                    "delta": {"type": "text_delta", "text": p},
                },
            )
            for p in pieces
        ),
        _sse("content_block_stop", {"type": "content_block_stop", "index": 0}),
        _sse(
            "message_delta",
            {
                "type": "message_delta",
                "delta": {"stop_reason": "end_turn", "stop_sequence": None},
                "usage": {"output_tokens": deltas},
            },
        ),
        _sse("message_stop", {"type": "message_stop"}),
    ]
    request_id = {"request-id": "req_011CUbench0000000000000"}
    return Canned(
        body=orjson.dumps(message),
        body_headers={"Content-Type": "application/json", **request_id},
        events=tuple(events),
        stream_headers={
            "Content-Type": "text/event-stream; charset=utf-8",
            "Cache-Control": "no-cache",
            **request_id,
        },
    )


def openai_chat(deltas: int) -> Canned:
    """A `chat.completion` body and its `chat.completion.chunk` stream ending in `[DONE]`."""
    pieces = text_pieces(deltas)
    head = {"id": "chatcmpl-AbenchX1q2w3e4r5t6y7u8i9o0", "created": CREATED, "model": OPENAI_MODEL}
    extra = {"service_tier": "default", "system_fingerprint": "fp_bench0001"}
    completion = {
        **head,
        "object": "chat.completion",
        "choices": [
            {
                "index": 0,
                "message": {
                    "role": "assistant",
                    "content": "".join(pieces),
                    "refusal": None,
                    "annotations": [],
                },
                "logprobs": None,
                "finish_reason": "stop",
            }
        ],
        "usage": {
            "prompt_tokens": 412,
            "completion_tokens": deltas,
            "total_tokens": 412 + deltas,
            "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
            "completion_tokens_details": {"reasoning_tokens": 0, "audio_tokens": 0},
        },
        **extra,
    }

    def chunk(delta: dict[str, object], finish: str | None = None) -> bytes:
        choice = {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}
        data = {**head, "object": "chat.completion.chunk", **extra, "choices": [choice]}
        return b"data: " + orjson.dumps(data) + b"\n\n"

    events = [
        chunk({"role": "assistant", "content": "", "refusal": None}),
        *(chunk({"content": p}) for p in pieces),
        chunk({}, "stop"),
        b"data: [DONE]\n\n",
    ]
    request_id = {"x-request-id": "req_bench0000000000000000000000"}
    return Canned(
        body=orjson.dumps(completion),
        body_headers={"Content-Type": "application/json", **request_id},
        events=tuple(events),
        stream_headers={
            "Content-Type": "text/event-stream; charset=utf-8",
            "Cache-Control": "no-cache",
            **request_id,
        },
    )


Handler = Callable[[web.BaseRequest], Awaitable[web.StreamResponse]]


def make_handler(deltas: int) -> Handler:
    """The low-level request handler serving both routes from precomputed bytes."""
    routes = {"/v1/messages": anthropic(deltas), "/v1/chat/completions": openai_chat(deltas)}

    async def handle(request: web.BaseRequest) -> web.StreamResponse:
        canned = routes.get(request.path)
        if canned is None or request.method != "POST":
            return web.Response(status=404, text="not found")
        body = await request.read()
        if _STREAM_TRUE.search(body) is None:
            return web.Response(body=canned.body, headers=canned.body_headers)
        response = web.StreamResponse(headers=canned.stream_headers)
        await response.prepare(request)
        for event in canned.events:
            await response.write(event)
        await response.write_eof()
        return response

    return handle


async def serve(host: str, port: int, deltas: int) -> None:
    """Serve until cancelled."""
    server = web.Server(make_handler(deltas), access_log=None)
    runner = web.ServerRunner(server)
    await runner.setup()
    await web.TCPSite(runner, host, port).start()
    try:
        await asyncio.Event().wait()
    finally:
        await runner.cleanup()


def main() -> None:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=9001)
    parser.add_argument("--deltas", type=int, default=20, help="text deltas per stream")
    args = parser.parse_args()
    with suppress(KeyboardInterrupt):
        uvloop.run(serve(args.host, args.port, args.deltas))


if __name__ == "__main__":
    main()
