"""What the gateway's HTTP server writes itself: JSON error pages, and no version banner.

aiohttp answers some requests before or instead of a handler (no route, a wrong method, a
body over the limit, a request it cannot parse) with plain-text pages, and names the
Python and aiohttp versions in `Server`. Here each of those answers is JSON in the caller's
API error format (the admin API's own format on `/admin`), and `Server` says `lastword`.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import ctypes.util
import gc
import sys
from http import HTTPStatus
from typing import Any

from aiohttp import hdrs, web
from aiohttp.typedefs import Handler

from gateway.admin import error_response as admin_error_response
from gateway.errors import HTTPError
from gateway.logs import get_logger
from gateway.routing import AmbiguousPath, error_dialect, is_admin, lenient_path

log = get_logger("lastword.server")

BANNER = "lastword"
# The error type each API uses for a status it has no more precise word for.
_ERROR_TYPES = {
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    413: "request_too_large",
    504: "timeout_error",
}


def _message(request: web.BaseRequest, status: int) -> str:
    path = request.path[:200]
    if status == 404:
        return f"No route for {request.method} {path}."
    if status == 405:
        return f"{request.method} is not allowed on {path}."
    if status == 413:
        return "The request body is larger than the gateway accepts."
    return f"{HTTPStatus(status).phrase}."


def error_page(
    request: web.BaseRequest, status: int, *, error: HTTPError | None = None
) -> web.Response:
    """The gateway's own answer with `status`: JSON in the format of the path's API."""
    path = lenient_path(request.path)
    error_type = error.error_type if error else _ERROR_TYPES.get(status, "")
    error_type = error_type or ("invalid_request_error" if status < 500 else "api_error")
    message = error.message if error else _message(request, status)
    if is_admin(path):
        return admin_error_response(status, error_type, message)
    dialect = error_dialect(request)
    body = dialect.error_body(status, error_type, message, error.param if error else None)
    return web.Response(status=status, body=body, content_type="application/json")


def refuse_path(request: web.Request, exc: AmbiguousPath) -> web.StreamResponse:
    """The 400 for a path that has no single reading."""
    return error_page(request, exc.status, error=exc)


@web.middleware
async def json_errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Answer aiohttp's own HTTP errors, and any fault a handler let through, in JSON."""
    try:
        return await handler(request)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        page = error_page(request, exc.status)
        if hdrs.ALLOW in exc.headers:
            page.headers[hdrs.ALLOW] = exc.headers[hdrs.ALLOW]
        return page
    except Exception:
        if request.writer.output_size > 0:
            raise  # the answer has begun: aiohttp closes the connection
        log.exception("internal_error", method=request.method, path=request.path)
        return error_page(request, 500)


async def _banner(_request: web.Request, response: web.StreamResponse) -> None:
    # Runs after aiohttp filled in its default `Server`; the upstream's is replaced too,
    # as reverse proxies do: the client talks to the gateway.
    response.headers[hdrs.SERVER] = BANNER


def install(app: web.Application) -> None:
    """JSON error pages (wrapping every other middleware) and the plain banner for `app`."""
    app.middlewares.insert(0, json_errors)
    app.on_response_prepare.append(_banner)


class _JsonErrorHandler(web.RequestHandler):
    """The connection handler; its error pages (requests aiohttp cannot parse) are JSON."""

    def handle_error(
        self,
        request: web.BaseRequest,
        status: int = 500,
        exc: BaseException | None = None,
        message: str | None = None,
    ) -> web.StreamResponse:
        """A JSON error page in place of aiohttp's plain-text one; the connection closes."""
        if request.writer.output_size > 0:
            raise ConnectionError("the answer has begun; no error page can follow")
        if status >= 500:
            log.error("server_error", status=status, error=type(exc).__name__)
        else:
            # Clients (and scanners) control these: one short line, never the raw request.
            log.info("unparsable_request", status=status, error=type(exc).__name__)
        page = error_page(request, status)
        page.headers[hdrs.SERVER] = BANNER
        page.force_close()
        return page


class _JsonErrorServer(web.Server):
    """The low-level server, handing each connection to `_JsonErrorHandler`."""

    def __call__(self) -> web.RequestHandler:
        return _JsonErrorHandler(self, loop=self._loop, **self._kwargs)


class GatewayRunner(web.AppRunner):
    """An `AppRunner` whose answers to unparsable requests are JSON error pages too."""

    async def _make_server(self) -> web.Server:
        plain = await super()._make_server()
        return _JsonErrorServer(
            plain.request_handler,
            request_factory=plain.request_factory,
            handler_cancellation=plain.handler_cancellation,
            loop=plain._loop,
            **plain._kwargs,
        )


# Collections of the youngest generation start after this many net allocations (Python's
# default is 700): a request allocates a few thousand objects, nearly all freed when it ends,
# so a larger budget means far fewer collections, each finding mostly garbage.
_GC_YOUNG_THRESHOLD = 20_000
# How long a thread may hold the GIL while another waits for it (Python's default: 5 ms).
# The loop shares the interpreter with threads that move large texts to and from the
# scanning process (the executor's feeder and manager threads pickle and unpickle them):
# at the default, a 1 MB message held the loop about 5 ms at each handover; at 1 ms, 2-3.
_SWITCH_INTERVAL = 0.001


# glibc's malloc maps a large block afresh for each allocation and unmaps it when freed,
# and gives memory at the top of its heaps back past a threshold (both adjusted as it
# goes). A 1 MB request's texts, received from the scanning process by the executor's
# thread and freed by the loop's, were faulted in anew every time: 3,000 page faults and
# 7 ms of that thread's time, holding the GIL 3-5 ms. Fixed thresholds keep freed memory
# for the next request: blocks up to 32 MB (glibc's ceiling) come from its heaps, and
# up to 64 MB free at a heap's top stays there.
_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3
_MMAP_THRESHOLD = 32 << 20
_TRIM_THRESHOLD = 64 << 20


def keep_freed_memory() -> bool:
    """Have glibc's malloc keep freed memory for reuse (see above); whether it could (not
    with another C library)."""
    try:
        mallopt = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6").mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
    return bool(
        mallopt(_M_MMAP_THRESHOLD, _MMAP_THRESHOLD) and mallopt(_M_TRIM_THRESHOLD, _TRIM_THRESHOLD)
    )


def settle_heap() -> None:
    """Move what start-up built (rules, automata, the app) out of the collector's way, let
    the loop take the GIL back from a thread sooner (`_SWITCH_INTERVAL`), and keep freed
    memory for reuse (`keep_freed_memory`).

    A full collection walks every tracked object: with the rule packs loaded that is tens
    of thousands, about 15 ms here, a pause every request in flight waits behind. Frozen,
    they are never walked again; only what requests allocate is.
    """
    gc.collect()
    gc.freeze()
    gc.set_threshold(_GC_YOUNG_THRESHOLD, *gc.get_threshold()[1:])
    sys.setswitchinterval(_SWITCH_INTERVAL)
    keep_freed_memory()


def run_app(app: web.Application, *, host: str, port: int, reuse_port: bool, **kw: Any) -> None:
    """Serve `app` until SIGINT or SIGTERM, as `web.run_app` does, through `GatewayRunner`."""

    async def serve() -> None:
        runner = GatewayRunner(app, handle_signals=True, access_log=None, **kw)
        await runner.setup()
        settle_heap()
        try:
            await web.TCPSite(runner, host, port, reuse_port=reuse_port).start()
            await asyncio.Event().wait()
        finally:
            await runner.cleanup()

    # SIGINT/SIGTERM raise GracefulExit out of the loop; the cleanup above runs first.
    with contextlib.suppress(web.GracefulExit, KeyboardInterrupt):
        asyncio.run(serve())
