"""The /metrics endpoint: Prometheus exposition, behind an optional bearer token."""

from __future__ import annotations

import hmac

from aiohttp import web
from aiohttp.typedefs import Handler

from gateway import metrics
from gateway.config import Settings
from gateway.errors import HTTPError
from gateway.server import GatewayRunner, error_page, install


class MetricsUnauthorized(HTTPError):
    """`/metrics` asked for without the configured bearer token (401)."""

    status = 401
    error_type = "authentication_error"


def bearer_matches(request: web.Request, token: str) -> bool:
    """Whether the request carries `Authorization: Bearer <token>`, compared in constant time."""
    scheme, _, given = request.headers.get("Authorization", "").partition(" ")
    # Compared as bytes: a header may hold any octet.
    given_bytes = given.strip().encode("utf-8", "surrogateescape")
    return hmac.compare_digest(given_bytes, token.encode()) and scheme.lower() == "bearer"


def metrics_view(settings: Settings) -> Handler:
    """Prometheus exposition of every metric (all workers), behind `metrics_token` if set."""
    token = settings.metrics_token.get_secret_value() if settings.metrics_token else ""
    refusal = MetricsUnauthorized("A valid metrics bearer token is required.")

    async def view(request: web.Request) -> web.StreamResponse:
        if token and not bearer_matches(request, token):
            page = error_page(request, refusal.status, error=refusal)
            page.headers["WWW-Authenticate"] = 'Bearer realm="metrics"'
            return page
        body, content_type = metrics.exposition()
        return web.Response(body=body, headers={"Content-Type": content_type})

    return view


async def metrics_site(settings: Settings) -> web.AppRunner:
    """A small server of its own for /metrics, on `metrics_port`."""
    app = web.Application()
    install(app)
    app.router.add_get("/metrics", metrics_view(settings))
    runner = GatewayRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(
        runner, settings.host, settings.metrics_port, reuse_port=settings.workers > 1
    )
    await site.start()
    return runner
