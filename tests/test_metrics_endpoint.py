"""The /metrics endpoint: behind `metrics_token` when set, on the main port and on its own."""

from __future__ import annotations

from typing import Any

import aiohttp
import orjson
import pytest
from aiohttp.test_utils import TestServer

from gateway.config import load_settings
from tests.conftest import GatewayFactory, base_url, free_port

TOKEN = "m3trics-t0ken-9b2f"


async def scrape(url: str, authorization: str | None) -> tuple[int, bytes, Any]:
    """GET `url` with that Authorization header (none when None)."""
    headers = {} if authorization is None else {"Authorization": authorization}
    async with aiohttp.ClientSession() as session, session.get(url, headers=headers) as resp:
        return resp.status, await resp.read(), resp.headers


async def _metrics_url(make_gateway: GatewayFactory, own_port: bool, **settings: Any) -> str:
    if not own_port:
        gateway: TestServer = await make_gateway(**settings)
        return base_url(gateway) + "/metrics"
    port = free_port()
    await make_gateway(metrics_port=port, **settings)
    return f"http://127.0.0.1:{port}/metrics"


REFUSED = [None, "", "Bearer", "Bearer wrong-token", f"Basic {TOKEN}", f"Bearer {TOKEN}x"]


@pytest.mark.parametrize("own_port", [False, True], ids=["main-port", "metrics-port"])
async def test_with_a_token_only_the_bearer_of_it_scrapes(
    make_gateway: GatewayFactory, own_port: bool
) -> None:
    """Without the right bearer token /metrics is a JSON 401; with it, the exposition."""
    url = await _metrics_url(make_gateway, own_port, metrics_token=TOKEN)
    for authorization in REFUSED:
        status, body, headers = await scrape(url, authorization)
        assert status == 401, authorization
        assert headers["WWW-Authenticate"] == 'Bearer realm="metrics"'
        error = orjson.loads(body)["error"]
        assert error["code"] == "authentication_error"
        assert TOKEN not in body.decode()
    for authorization in (f"Bearer {TOKEN}", f"bearer {TOKEN}"):
        status, body, headers = await scrape(url, authorization)
        assert status == 200
        assert headers["Content-Type"].startswith("text/plain")
        assert b"lastword_requests_total" in body or b"lastword_build_info" in body


@pytest.mark.parametrize("own_port", [False, True], ids=["main-port", "metrics-port"])
async def test_without_a_token_metrics_are_open(
    make_gateway: GatewayFactory, own_port: bool
) -> None:
    """By default /metrics answers anyone, as before."""
    url = await _metrics_url(make_gateway, own_port)
    status, body, _ = await scrape(url, None)
    assert status == 200
    assert b"# TYPE" in body


async def test_metrics_on_its_own_port_are_not_forwarded_from_the_main_port(
    make_gateway: GatewayFactory, simulator: TestServer
) -> None:
    """With `metrics_port`, /metrics on the main port is a JSON 404, not the upstream's."""
    gateway = await make_gateway(metrics_port=free_port(), metrics_token=TOKEN)
    status, body, _ = await scrape(base_url(gateway) + "/metrics", f"Bearer {TOKEN}")
    assert status == 404
    assert orjson.loads(body)["error"]["message"].startswith("No route")


def test_the_token_comes_from_the_environment() -> None:
    """`LASTWORD_METRICS_TOKEN` sets it; it is a secret, never shown in the settings' repr."""
    settings = load_settings(environ={"LASTWORD_METRICS_TOKEN": TOKEN})
    assert settings.metrics_token is not None
    assert settings.metrics_token.get_secret_value() == TOKEN
    assert TOKEN not in repr(settings)
    assert load_settings(environ={}).metrics_token is None
