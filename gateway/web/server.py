"""The web demo's servers: the simulated upstream, the gateway, and a client-app backend.

The backend is what a real chat application runs next to its page: it serves the static
files and forwards `POST /api/messages` to the gateway's `POST /v1/messages` with the API
key set here, so the key never reaches the browser. It streams the gateway's answer back
byte for byte: the page reads the same SSE events, statuses, 410 bodies and
`X-Conversation-*` headers an SDK would.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sys
import tempfile
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web
from multidict import CIMultiDict, CIMultiDictProxy

from gateway.app import create_app
from gateway.config import Settings
from gateway.logs import configure_logging
from gateway.simulate import SimulatorSettings, create_simulator_app

STATIC = Path(__file__).parent / "static"
DEMO_API_KEY = "sk-demo-web"
MODEL = "claude-demo"
MAX_TOKENS = 400
ANTHROPIC_VERSION = "2023-06-01"
# Headers of the gateway's answer the page needs; X-Conversation-* are added to these.
PASSED_HEADERS = ("Content-Type", "Cache-Control", "x-should-retry")

GATEWAY_URL = web.AppKey("gateway_url", str)
API_KEY = web.AppKey("api_key", str)
SESSION = web.AppKey("session", aiohttp.ClientSession)


def _error(status: int, kind: str, message: str) -> web.Response:
    """An error in the Anthropic format, so the page reads every error the same way."""
    body = {"type": "error", "error": {"type": kind, "message": message}}
    return web.json_response(body, status=status)


def _passed_headers(headers: CIMultiDictProxy[str]) -> CIMultiDict[str]:
    passed = CIMultiDict((name, headers[name]) for name in PASSED_HEADERS if name in headers)
    for name, value in headers.items():
        if name.lower().startswith("x-conversation-"):
            passed[name] = value
    return passed


async def index(_request: web.Request) -> web.FileResponse:
    """The chat page."""
    return web.FileResponse(STATIC / "index.html")


async def messages(request: web.Request) -> web.StreamResponse:
    """Forward the browser's history to the gateway; stream its answer back unchanged."""
    try:
        body: Any = await request.json()
    except ValueError:
        return _error(400, "invalid_request_error", "the body is not JSON")
    history = body.get("messages") if isinstance(body, dict) else None
    if not isinstance(history, list) or not history:
        return _error(400, "invalid_request_error", "messages: expected a non-empty list")
    # The backend, not the browser, decides the model, the limits and the key.
    payload = {"model": MODEL, "max_tokens": MAX_TOKENS, "stream": True, "messages": history}
    headers = {"x-api-key": request.app[API_KEY], "anthropic-version": ANTHROPIC_VERSION}
    if language := request.headers.get("Accept-Language"):
        headers["Accept-Language"] = language  # the gateway picks local helplines from it
    url = request.app[GATEWAY_URL] + "/v1/messages"
    try:
        answer = await request.app[SESSION].post(url, json=payload, headers=headers)
    except aiohttp.ClientError as exc:
        return _error(502, "api_error", f"the gateway cannot be reached: {exc}")
    try:
        out = web.StreamResponse(status=answer.status, headers=_passed_headers(answer.headers))
        await out.prepare(request)
        try:
            async for chunk in answer.content.iter_any():
                await out.write(chunk)
        except (aiohttp.ClientError, ConnectionResetError):
            # The browser left or the gateway broke the stream: the answer ends here, and
            # the page, seeing no `message_stop`, reports it as interrupted.
            return out
        await out.write_eof()
        return out
    finally:
        answer.release()


def create_backend_app(gateway_url: str, api_key: str = DEMO_API_KEY) -> web.Application:
    """The client-app backend: the static chat page and `POST /api/messages`."""
    app = web.Application()
    app[GATEWAY_URL] = gateway_url.rstrip("/")
    app[API_KEY] = api_key

    async def client_session(app: web.Application) -> AsyncIterator[None]:
        # No total timeout: a streamed answer lasts as long as the model writes.
        timeout = aiohttp.ClientTimeout(total=None, sock_connect=10, sock_read=300)
        async with aiohttp.ClientSession(timeout=timeout) as session:
            app[SESSION] = session
            yield

    app.cleanup_ctx.append(client_session)
    app.router.add_get("/", index)
    app.router.add_static("/static/", STATIC)
    app.router.add_post("/api/messages", messages)
    return app


@dataclass(frozen=True, slots=True)
class WebDemo:
    """Where the running web demo's servers listen."""

    url: str
    """The chat page (the client-app backend)."""
    gateway_url: str
    upstream_url: str
    store_dir: Path


@contextlib.asynccontextmanager
async def _serving(app: web.Application, host: str, port: int) -> AsyncIterator[str]:
    """Serve `app` on `host:port` (0: a free port) until the block ends; yield its URL."""
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    try:
        await web.TCPSite(runner, host, port).start()
        yield f"http://{host}:{runner.addresses[0][1]}"
    finally:
        await runner.cleanup()


@contextlib.asynccontextmanager
async def web_demo(
    port: int = 0, *, host: str = "127.0.0.1", token_delay: float = 0.03
) -> AsyncIterator[WebDemo]:
    """Run the simulated upstream, the gateway (SQLite in a temporary directory, default
    rules) and the backend on `port` (0: a free one) until the block ends.

    `token_delay` spaces the simulator's streamed words, so streaming is visible.
    """
    async with contextlib.AsyncExitStack() as stack:
        store_dir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="lastword-web-")))
        simulator = create_simulator_app(SimulatorSettings(token_delay=token_delay))
        upstream = await stack.enter_async_context(_serving(simulator, host, 0))
        settings = Settings(
            anthropic_upstream=upstream,
            openai_upstream=upstream,
            store=f"sqlite:///{store_dir / 'lastword.db'}",
        )
        gateway = await stack.enter_async_context(_serving(create_app(settings), host, 0))
        url = await stack.enter_async_context(_serving(create_backend_app(gateway), host, port))
        yield WebDemo(url + "/", gateway, upstream, store_dir)


async def _serve_until_stopped(port: int) -> None:
    stop = asyncio.Event()
    # Ctrl-C arrives as KeyboardInterrupt; SIGTERM (a service manager, `kill`) stops it too.
    with contextlib.suppress(NotImplementedError):
        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    async with web_demo(port) as demo:
        print(
            f"Lastword web demo: open {demo.url}\n"
            f"  gateway {demo.gateway_url}, simulated upstream {demo.upstream_url},"
            f" SQLite store in {demo.store_dir}\n"
            "  Ctrl-C to stop",
            flush=True,
        )
        await stop.wait()


def main(port: int = 8765) -> int:
    """Run the web demo until Ctrl-C or SIGTERM; 1 when the port cannot be had."""
    configure_logging("console", "info")
    try:
        asyncio.run(_serve_until_stopped(port))
    except KeyboardInterrupt:
        pass  # Ctrl-C is how this demo is meant to stop
    except OSError as exc:
        print(f"lastword: cannot serve the web demo on port {port}: {exc}", file=sys.stderr)
        return 1
    print("web demo stopped")
    return 0
