"""The aiohttp application: routes, start-up and clean-up."""

from __future__ import annotations

from functools import partial

from aiohttp import web

from gateway.config import Settings
from gateway.dialects import INSPECTED_ROUTES
from gateway.proxy import Proxy
from gateway.upstream import Upstreams

SETTINGS = web.AppKey("settings", Settings)
UPSTREAMS = web.AppKey("upstreams", Upstreams)


async def healthz(_request: web.Request) -> web.Response:
    """Liveness: the process answers."""
    return web.json_response({"status": "ok"})


async def readyz(request: web.Request) -> web.Response:
    """Readiness: the upstream pool is open."""
    ready = request.app[UPSTREAMS].started
    status = 200 if ready else 503
    return web.json_response({"status": "ready" if ready else "starting"}, status=status)


def create_app(settings: Settings) -> web.Application:
    """Build the gateway application for `settings`."""
    # aiohttp enforces the body limit while reading; the proxy turns it into a 413.
    app = web.Application(client_max_size=settings.max_body_bytes)
    app[SETTINGS] = settings
    upstreams = app[UPSTREAMS] = Upstreams(settings)
    proxy = Proxy(settings, upstreams)

    async def lifecycle(_app: web.Application):  # type: ignore[no-untyped-def]
        await upstreams.start()
        yield
        await upstreams.close()

    app.cleanup_ctx.append(lifecycle)
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
    for path, dialect in INSPECTED_ROUTES.items():
        app.router.add_post(path, partial(proxy.inspected, dialect=dialect))
    app.router.add_route("*", "/{tail:.*}", proxy.passthrough)
    return app
