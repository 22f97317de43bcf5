"""Routing on the canonical path: every spelling of a route is that route, or a 400.

The canonicalizer is proven by a table; then every spelling of the three inspected APIs,
of the admin API and of a passed-through path is sent to the real app, in front of an
upstream that records the raw path of every request it receives.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import aiohttp
import orjson
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from yarl import URL

from gateway.app import create_app
from gateway.config import Settings
from gateway.routing import AmbiguousPath, canonical_path
from gateway.simulate import SimulatorSettings, create_simulator_app
from tests.conftest import base_url
from tests.e2e.conversation_play import GREETING, HEADERS, body_for
from tests.e2e.sdk_calls import KEY

ADMIN_TOKEN = "t0ken-admin-routing-7d1e"

CANONICAL = [
    ("/v1/messages", "/v1/messages"),
    ("/", "/"),
    ("//", "/"),
    ("/v1/./messages", "/v1/messages"),
    ("/./v1/messages", "/v1/messages"),
    ("/v1/x/../messages", "/v1/messages"),
    ("/v1/x/y/../../messages", "/v1/messages"),
    ("/../v1/messages", "/v1/messages"),
    ("/v1/messages/.", "/v1/messages"),
    ("/v1/messages/x/..", "/v1/messages"),
    ("/v1/%2E/messages", "/v1/messages"),
    ("/v1/%2e%2E/v1/messages", "/v1/messages"),
    ("/v1/mess%61ges", "/v1/messages"),
    ("/v1/%6D%65ssages", "/v1/messages"),
    ("/v1/messages/", "/v1/messages"),
    ("//v1//messages//", "/v1/messages"),
    ("/V1/messages", "/v1/messages"),
    ("/v1/MESSAGES", "/v1/messages"),
    ("/v1/Chat/Completions", "/v1/chat/completions"),
    ("/HEALTHZ", "/healthz"),
    ("/ADMIN/Endings", "/admin/Endings"),
    ("/Admin", "/admin"),
    ("/%61dmin/endings", "/admin/endings"),
    ("/x/../admin", "/admin"),
    # Paths that are not the gateway's keep their case: ids are case-sensitive.
    ("/V1/files/File-AbC", "/v1/files/File-AbC"),
    ("/v1/models/claude-x%3Ay", "/v1/models/claude-x%3Ay"),
    ("/v1/files/a%7eb", "/v1/files/a~b"),
    ("/v1/files/%c3%a9", "/v1/files/%C3%A9"),
    ("/v1/files/a%20b", "/v1/files/a%20b"),
    ("/v1/files/{x}", "/v1/files/%7Bx%7D"),
    ("/v1/files/a:b@c!$&'()*+,=", "/v1/files/a:b@c!$&'()*+,="),
    ("/v1/a/../../../b", "/b"),
]

AMBIGUOUS = [
    "/v1%2Fmessages",
    "/v1%2fmessages",
    "/%2Fadmin",
    "/v1/messages%2F",
    "/v1%5Cmessages",
    "/v1\\messages",
    "/v1/messages;x",
    "/v1;v=1/messages",
    "/v1/messages%3B",
    "/v1/messages%3Fx",
    "/v1/messages%23",
    "/v1/%252E/messages",
    "/v1/messages%00",
    "/v1/messages%0A",
    "/v1/messages%7F",
    "/v1/messages%",
    "/v1/messages%4",
    "/v1/messages%ZZ",
    "/v1/a//../messages",
    "v1/messages",
    "",
]


@pytest.mark.parametrize(("raw", "canonical"), CANONICAL)
def test_the_canonical_spelling(raw: str, canonical: str) -> None:
    """A path that has one reading is rewritten to its one canonical spelling."""
    assert canonical_path(raw) == canonical
    assert canonical_path(canonical) == canonical


@pytest.mark.parametrize("raw", AMBIGUOUS)
def test_paths_with_more_than_one_reading_are_refused(raw: str) -> None:
    """Encoded delimiters, backslashes, parameters, bad escapes: no guess, a 400."""
    with pytest.raises(AmbiguousPath) as caught:
        canonical_path(raw)
    assert caught.value.status == 400


@dataclass
class Rig:
    """A gateway in front of a simulator that records every raw request target."""

    gateway: TestServer
    seen: list[str]

    async def send(
        self, method: str, target: str, *, body: Any = None, headers: dict[str, str] | None = None
    ) -> tuple[int, Any, Any]:
        """Send `target` byte for byte (no client-side clean-up); status, JSON, headers."""
        url = URL(base_url(self.gateway) + target, encoded=True)
        data = orjson.dumps(body) if body is not None else None
        async with (
            aiohttp.ClientSession() as session,
            session.request(method, url, data=data, headers=headers) as resp,
        ):
            raw = await resp.read()
            try:
                decoded = orjson.loads(raw)
            except orjson.JSONDecodeError:
                decoded = raw
            return resp.status, decoded, resp.headers


async def _rig(aiohttp_server: Any, **overrides: Any) -> Rig:
    seen: list[str] = []

    @web.middleware
    async def record(request: web.Request, handler: Any) -> web.StreamResponse:
        seen.append(f"{request.method} {request.raw_path}")
        response: web.StreamResponse = await handler(request)
        return response

    upstream_app = create_simulator_app(SimulatorSettings())
    upstream_app.middlewares.append(record)
    upstream = await aiohttp_server(upstream_app)
    values: dict[str, Any] = {
        "anthropic_upstream": base_url(upstream),
        "openai_upstream": base_url(upstream) + "/v1",
        "store": "memory://",
        "admin_token": ADMIN_TOKEN,
    }
    values.update(overrides)
    return Rig(await aiohttp_server(create_app(Settings(**values))), seen)


@pytest.fixture
async def rig(aiohttp_server: Any) -> Rig:
    """A gateway with the admin API on, in front of the recording simulator."""
    return await _rig(aiohttp_server)


APIS = {"anthropic": "messages", "chat": "chat/completions", "responses": "responses"}
# Each SDK's own headers: the Anthropic key in x-api-key, OpenAI's as a bearer (one tenant).
SDK_HEADERS = {
    "anthropic": {"x-api-key": KEY, "anthropic-version": "2023-06-01"},
    "chat": {"authorization": f"Bearer {KEY}"},
    "responses": {"authorization": f"Bearer {KEY}"},
}
HISTORY = [{"role": "user", "content": GREETING}]
OWNER = {"Authorization": f"Bearer {ADMIN_TOKEN}", "X-Api-Key": KEY}


@pytest.fixture
async def ended(rig: Rig) -> AsyncIterator[tuple[Rig, int]]:
    """The rig with HISTORY's conversation ended by an admin; yields the terminal status."""
    status, _, headers = await rig.send(
        "POST", "/v1/messages", body=body_for("anthropic", HISTORY), headers=HEADERS
    )
    assert status == 200
    conversation = headers["X-Conversation-Id"]
    path = f"/admin/conversations/{conversation}/end"
    status, _, _ = await rig.send("POST", path, body={"note": "routing test"}, headers=OWNER)
    assert status == 200
    terminal, body, _ = await rig.send(
        "POST", "/v1/messages", body=body_for("anthropic", HISTORY), headers=HEADERS
    )
    assert terminal in (409, 410)
    assert body["error"]["type"] == "conversation_ended"
    rig.seen.clear()
    yield rig, terminal
    assert rig.seen == []


# Spellings of /v1/{rest}: "ended" ones must be inspected, the others refused with a 400.
SPELLINGS = [
    ("/v1/{rest}", "ended"),
    ("/v1/./{rest}", "ended"),
    ("/./v1/{rest}", "ended"),
    ("/v1/x/../{rest}", "ended"),
    ("/v1/%2E/{rest}", "ended"),
    ("/v1/%2e/{rest}", "ended"),
    ("/v1/%2E%2E/v1/{rest}", "ended"),
    ("/../v1/{rest}", "ended"),
    ("/v1/{rest}/", "ended"),
    ("/v1/{rest}/.", "ended"),
    ("//v1/{rest}", "ended"),
    ("/v1//{rest}", "ended"),
    ("///v1///{rest}//", "ended"),
    ("/V1/{rest}", "ended"),
    ("/v1/{REST}", "ended"),
    ("/v1/{rest_escaped}", "ended"),
    ("/v1/{rest}?beta=true", "ended"),
    ("/admin/../v1/{rest}", "ended"),
    ("/healthz/../v1/{rest}", "ended"),
    ("/v1%2F{rest}", 400),
    ("/v1%2f{rest}", 400),
    ("/v1/{rest}%2F", 400),
    ("/v1\\{rest}", 400),
    ("/v1%5C{rest}", 400),
    ("/v1/{rest};x", 400),
    ("/v1;x/{rest}", 400),
    ("/v1/{rest}%3Bx", 400),
    ("/v1/%252E/{rest}", 400),
    ("/v1/a//../{rest}", 400),
    ("/v1/{rest}%00", 400),
    ("/v1/{rest}%", 400),
]


def _spell(template: str, rest: str) -> str:
    escaped = f"%{ord(rest[0]):02x}{rest[1:]}"
    return template.format(rest=rest, REST=rest.upper(), rest_escaped=escaped)


def assert_error_format(api: str, body: Any) -> None:
    """An error body in the API's own format: Anthropic's or OpenAI's."""
    assert isinstance(body, dict), body
    if api == "anthropic":
        assert body["type"] == "error"
        assert set(body["error"]) >= {"type", "message"}
    else:
        assert set(body["error"]) >= {"message", "type", "param", "code"}


@pytest.mark.parametrize(("template", "expected"), SPELLINGS)
async def test_every_spelling_of_an_inspected_route_is_inspected_or_refused(
    ended: tuple[Rig, int], template: str, expected: str | int
) -> None:
    """An ended conversation gets the terminal answer or a 400 on every spelling; no upstream."""
    rig, terminal = ended
    for api, rest in APIS.items():
        path = _spell(template, rest)
        status, body, headers = await rig.send(
            "POST", path, body=body_for(api, HISTORY), headers=SDK_HEADERS[api]
        )
        assert_error_format(api, body)
        if expected == "ended":
            assert status == terminal, (path, body)
            assert body["error"]["type"] == "conversation_ended"
            assert headers["X-Conversation-Status"] == "ended"
        else:
            assert status == 400, (path, body)


@pytest.mark.parametrize(
    "template", [t for t, expected in SPELLINGS if expected == "ended" and "?" not in t]
)
async def test_the_upstream_only_sees_the_canonical_path(rig: Rig, template: str) -> None:
    """A live conversation through any spelling reaches the upstream under the canonical path."""
    for api, rest in APIS.items():
        rig.seen.clear()
        path = _spell(template, rest)
        status, _, headers = await rig.send(
            "POST", path, body=body_for(api, HISTORY), headers=SDK_HEADERS[api]
        )
        assert status == 200
        assert headers["X-Conversation-Status"] == "active"
        assert rig.seen == [f"POST /v1/{rest}"]


@pytest.mark.parametrize(
    ("target", "upstream"),
    [
        ("/v1/models", "GET /v1/models"),
        ("/v1/./models", "GET /v1/models"),
        ("//v1//models/", "GET /v1/models"),
        ("/V1/models", "GET /v1/models"),
        ("/v1/x/../models", "GET /v1/models"),
        ("/v1/m%6Fdels", "GET /v1/models"),
        # The query goes on exactly as the client wrote it.
        ("/v1/./models?after=a%2fb&x=%7e+y&&z", "GET /v1/models?after=a%2fb&x=%7e+y&&z"),
        ("/v1/models/claude%3Ax", "GET /v1/models/claude%3Ax"),
        ("/v1/files/{id}", "GET /v1/files/%7Bid%7D"),
    ],
)
async def test_passed_through_paths_go_upstream_canonical(
    rig: Rig, target: str, upstream: str
) -> None:
    """Paths that are not inspected are forwarded under their canonical path, query as sent."""
    await rig.send("GET", target, headers=HEADERS)
    assert rig.seen == [upstream]


@pytest.mark.parametrize("target", ["/v1%2Fmodels", "/v1/models;x", "/v1\\models", "/%2e%2e%2f"])
async def test_a_refused_passthrough_path_never_reaches_the_upstream(rig: Rig, target: str) -> None:
    """A path with no single reading is a 400 in the family's format, not forwarded."""
    status, body, _ = await rig.send("GET", target, headers=HEADERS)
    assert status == 400
    assert_error_format("anthropic", body)
    assert rig.seen == []


ADMIN_SPELLINGS = [
    "/admin/endings",
    "//admin/endings",
    "/./admin/endings",
    "/ADMIN/endings",
    "/Admin/endings",
    "/%61dmin/endings",
    "/x/../admin/endings",
    "/v1/../admin/endings",
    "/admin/./endings",
    "/admin//endings",
    "/admin/endings/",
    "/%2Fadmin/endings",
    "/admin%2Fendings",
    "/admin;x/endings",
    "/admin\\endings",
    "/admin/../admin/endings",
]


@pytest.mark.parametrize("target", ADMIN_SPELLINGS)
async def test_no_spelling_of_admin_is_ever_forwarded(rig: Rig, target: str) -> None:
    """Every spelling of /admin is the admin API (or a JSON 400), never the upstream's."""
    for method in ("GET", "POST", "DELETE"):
        status, body, _ = await rig.send(method, target, headers=OWNER)
        assert rig.seen == []
        assert isinstance(body, dict)
        if method == "GET" and not set("%;\\") & set(target.replace("%61", "a")):
            assert status == 200, (target, body)
            assert "endings" in body
        else:
            assert status in (400, 404), (target, body)
            assert set(body["error"]) == {"type", "message"}


@pytest.mark.parametrize("target", ["/admin/endings", "//admin/endings", "/ADMIN", "/x/../admin"])
async def test_admin_spellings_need_the_token(rig: Rig, target: str) -> None:
    """Without the admin token, a respelled admin path is a 401 here, not a forward."""
    status, body, _ = await rig.send("GET", target, headers={"X-Api-Key": KEY})
    assert status == 401
    assert body["error"]["type"] == "unauthorized"
    assert rig.seen == []


@pytest.mark.parametrize("target", ["/admin/endings", "//admin/endings", "/ADMIN/x", "/./admin"])
async def test_admin_spellings_are_a_404_when_the_admin_api_is_off(
    aiohttp_server: Any, target: str
) -> None:
    """With no admin token configured, every spelling of /admin is a JSON 404."""
    rig = await _rig(aiohttp_server, admin_token=None)
    status, body, _ = await rig.send("GET", target, headers=OWNER)
    assert status == 404
    assert body["error"]["type"] == "not_found"
    assert rig.seen == []


@pytest.mark.parametrize("target", ["/healthz", "/./healthz", "//HEALTHZ/", "/x/../readyz"])
async def test_the_gateways_own_paths_are_answered_here(rig: Rig, target: str) -> None:
    """Health checks answer in every spelling; they never reach the upstream."""
    status, body, _ = await rig.send("GET", target)
    assert status == 200
    assert body["status"] in ("ok", "ready")
    assert rig.seen == []


async def _absolute_form(rig: Rig, target: str, body: dict[str, Any]) -> tuple[int, Any]:
    """POST with a request target in absolute form (`POST http://host/path`), as proxies may."""
    data = orjson.dumps(body)
    head = [f"POST {target} HTTP/1.1", "Host: gateway.test", "Connection: close"]
    head += [f"{k}: {v}" for k, v in SDK_HEADERS["anthropic"].items()]
    head += ["Content-Type: application/json", f"Content-Length: {len(data)}"]
    reader, writer = await asyncio.open_connection("127.0.0.1", rig.gateway.port)
    try:
        writer.write("\r\n".join(head).encode() + b"\r\n\r\n" + data)
        answer = await asyncio.wait_for(reader.read(), timeout=30)
    finally:
        writer.close()
    status_line, _, rest = answer.partition(b"\r\n")
    return int(status_line.split(b" ")[1]), orjson.loads(rest.partition(b"\r\n\r\n")[2])


@pytest.mark.parametrize(
    "target",
    [
        "http://gateway.test/v1/messages",
        "http://gateway.test/v1/./messages",
        "http://gateway.test//v1/messages/",
        "http://gateway.test/v1/x/../messages",
        "HTTP://gateway.test/V1/%6Dessages",
    ],
)
async def test_absolute_form_targets_are_routed_canonically(
    ended: tuple[Rig, int], target: str
) -> None:
    """A target in absolute form is read by its path like any other: the ended thread stays so."""
    rig, terminal = ended
    status, body = await _absolute_form(rig, target, body_for("anthropic", HISTORY))
    assert status == terminal, (target, body)
    assert body["error"]["type"] == "conversation_ended"
