"""An in-process upstream that records every request it is sent and answers each API."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import orjson
from aiohttp import web

ANSWERS: dict[str, dict[str, Any]] = {
    "/v1/messages": {
        "id": "msg_1",
        "type": "message",
        "role": "assistant",
        "model": "m",
        "content": [{"type": "text", "text": "Here you go."}],
        "stop_reason": "end_turn",
        "usage": {"input_tokens": 1, "output_tokens": 1},
    },
    "/v1/chat/completions": {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "model": "m",
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": "Here you go."},
                "finish_reason": "stop",
            }
        ],
    },
    "/v1/responses": {
        "id": "resp_1",
        "object": "response",
        "model": "m",
        "status": "completed",
        "output": [
            {
                "type": "message",
                "role": "assistant",
                "content": [{"type": "output_text", "text": "Here you go."}],
            }
        ],
    },
}


@dataclass
class Recorded:
    """One request as the upstream received it."""

    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Recorder:
    """What the upstream was sent, in order."""

    calls: list[Recorded] = field(default_factory=list)

    async def handle(self, request: web.Request) -> web.Response:
        """Record the request; answer the API of its path (200 with `{}` elsewhere)."""
        body = await request.read()
        headers = {k.lower(): v for k, v in request.headers.items()}
        self.calls.append(Recorded(request.path, headers, body))
        answer = ANSWERS.get(request.path, {})
        return web.Response(body=orjson.dumps(answer), content_type="application/json")


RECORDER = web.AppKey("recorder", Recorder)


def recorder_app() -> web.Application:
    """The upstream app; its recorder is `app[RECORDER]`."""
    # Read the body as sent: what the gateway forwards, not what aiohttp would decode.
    app = web.Application(handler_args={"auto_decompress": False})
    recorder = app[RECORDER] = Recorder()
    app.router.add_route("*", "/{tail:.*}", recorder.handle)
    return app
