"""The upstream pool keeps no cookies: one client's Set-Cookie never rides on another's call."""

from __future__ import annotations

from typing import Any

import aiohttp
import orjson
from aiohttp import web
from aiohttp.test_utils import TestServer

from gateway.app import create_app
from gateway.config import Settings
from tests.conftest import base_url
from tests.dialects.recorder import ANSWERS
from tests.test_proxy import HEADERS

SEEN = web.AppKey("seen", list)
BODY = {"model": "m", "max_tokens": 8, "messages": [{"role": "user", "content": "Hello."}]}


def cookie_setting_upstream() -> web.Application:
    """An upstream that sets a cookie on every answer and records the Cookie it was sent."""
    app = web.Application()
    app[SEEN] = []

    async def messages(request: web.Request) -> web.Response:
        request.app[SEEN].append(request.headers.get("Cookie"))
        response = web.json_response(ANSWERS["/v1/messages"])
        response.set_cookie("upstream_session", "for-the-first-client-only", path="/")
        return response

    app.router.add_post("/v1/messages", messages)
    return app


async def test_an_upstream_cookie_is_not_sent_on_later_calls(aiohttp_server: Any) -> None:
    """The upstream's Set-Cookie reaches its client; later calls carry only their own Cookie."""
    upstream: TestServer = await aiohttp_server(cookie_setting_upstream())
    # By host name: a cookie jar ignores cookies from bare IP addresses.
    named = f"http://localhost:{upstream.port}"
    settings = Settings(anthropic_upstream=named, openai_upstream=named, store="memory://")
    gateway: TestServer = await aiohttp_server(create_app(settings))
    url = base_url(gateway) + "/v1/messages"
    async with aiohttp.ClientSession(cookie_jar=aiohttp.DummyCookieJar()) as session:
        async with session.post(url, data=orjson.dumps(BODY), headers=HEADERS) as first:
            assert first.status == 200
            assert "upstream_session" in first.headers.get("Set-Cookie", "")
        async with session.post(url, data=orjson.dumps(BODY), headers=HEADERS) as second:
            assert second.status == 200
        own = {**HEADERS, "Cookie": "mine=1"}
        async with session.post(url, data=orjson.dumps(BODY), headers=own) as third:
            assert third.status == 200
    assert upstream.app[SEEN] == [None, None, "mine=1"]
