"""The admin API: off without a token, bearer-guarded, tenant-scoped, inspection and unlock."""

from __future__ import annotations

from typing import Any

import aiohttp
import orjson
import pytest
from aiohttp.test_utils import TestServer

from gateway.app import RUNTIME
from gateway.conversation import tenant_of
from gateway.simulate import LAST_REQUEST
from gateway.store import Ending, StoreError
from tests.conftest import GatewayFactory, base_url
from tests.e2e.conversation_play import AFTER, HARMFUL, Message, play_until_ended, turn
from tests.e2e.sdk_calls import KEY

TOKEN = "t0ken-admin-5f1c9e"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
OWNER = {**AUTH, "X-Api-Key": KEY}
STRANGER = {**AUTH, "X-Api-Key": "sk-another-tenant-42424242"}
CATEGORY = "weapons_mass_casualty"


async def admin(
    server: TestServer,
    path: str,
    headers: dict[str, str] | None = None,
    method: str = "GET",
    body: Any = None,
) -> tuple[int, Any, str]:
    """Call the admin API; return status, decoded JSON and the raw text."""
    async with aiohttp.ClientSession() as session:
        url = base_url(server) + path
        async with session.request(method, url, headers=headers, json=body) as resp:
            raw = await resp.text()
            return resp.status, orjson.loads(raw), raw


async def end_thread(server: TestServer, opener: str, **headers: str) -> tuple[str, list[Message]]:
    """An opener, then three refused harmful turns; returns the conversation id and history."""
    history: list[Message] = []
    for text in (opener, *HARMFUL):
        status, _, resp_headers = await turn(server, "anthropic", history, text, **headers)
        assert status == 200
    assert resp_headers["X-Conversation-Status"] == "ended"
    return resp_headers["X-Conversation-Id"], history


async def ended_id(server: TestServer, history: list[Message]) -> str:
    """The id of the ended conversation `history` is in, read from its terminal answer."""
    status, _, headers = await turn(server, "anthropic", list(history), AFTER)
    assert status == 410
    return str(headers["X-Conversation-Id"])


@pytest.fixture
async def admin_gateway(make_gateway: GatewayFactory) -> TestServer:
    """A gateway with the admin API on."""
    # The model is not offered the end tool, so what ends a thread is strikes alone.
    return await make_gateway(admin_token=TOKEN, policy={"model_can_end": False})


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/admin/endings"),
        ("GET", "/admin/conversations/conv_x"),
        ("POST", "/admin/conversations/conv_x/unlock"),
        ("GET", "/admin"),
        ("DELETE", "/admin/anything/else"),
    ],
)
async def test_off_without_a_token(
    method: str, path: str, make_gateway: GatewayFactory, simulator: TestServer
) -> None:
    """With no admin token every /admin path is a JSON 404 and never reaches the upstream."""
    gateway = await make_gateway()
    status, body, _ = await admin(gateway, path, OWNER, method, {"note": "n"})
    assert status == 404
    assert body == {"error": {"type": "not_found", "message": "the admin API is off"}}
    assert simulator.app[LAST_REQUEST].last is None


@pytest.mark.parametrize(
    "authorization",
    [None, "Bearer wrong-token", f"Basic {TOKEN}", TOKEN, f"Bearer {TOKEN}x", "Bearer ünï"],
)
async def test_unauthorized_without_the_admin_token(
    authorization: str | None, admin_gateway: TestServer
) -> None:
    """A missing or wrong bearer token is a 401, on known and unknown admin paths alike."""
    headers = {"X-Api-Key": KEY}
    if authorization is not None:
        headers["Authorization"] = authorization
    for path in ("/admin/endings", "/admin/nothing-here"):
        status, body, _ = await admin(admin_gateway, path, headers)
        assert status == 401
        assert body["error"]["type"] == "unauthorized"


async def test_a_tenant_must_be_named(admin_gateway: TestServer) -> None:
    """A call naming no tenant, or two different ones, is a 400."""
    status, body, _ = await admin(admin_gateway, "/admin/endings", AUTH)
    assert status == 400
    assert set(body["error"]) == {"type", "message"}
    mixed = {**OWNER, "X-Lastword-Tenant": "0" * 24}
    status, _, _ = await admin(admin_gateway, "/admin/endings", mixed)
    assert status == 400


async def test_inspection_shows_strikes_and_the_ending(admin_gateway: TestServer) -> None:
    """Three strikes in their category and an ending by strikes; no message text, no hash."""
    history = await play_until_ended(admin_gateway)
    conversation_id = await ended_id(admin_gateway, history)
    status, body, raw = await admin(admin_gateway, f"/admin/conversations/{conversation_id}", OWNER)
    assert status == 200, body
    conv = body["conversation"]
    assert conv["id"] == conversation_id
    assert conv["status"] == "ended"
    assert conv["alias"] is None
    assert [s["category"] for s in conv["strikes"]] == [CATEGORY] * 3
    assert not any(s["forgiven"] for s in conv["strikes"])
    assert all(s["at"].endswith("Z") and s["source"] for s in conv["strikes"])
    [ending] = conv["endings"]
    assert ending["reason"] == "strikes"
    assert ending["categories"] == [CATEGORY]
    assert ending["lifted_at"] is None
    assert conv["unlocks"] == [] and conv["crisis"] == []
    for message in history:
        assert message["content"] not in raw
    assert "fingerprint" not in raw


async def test_the_tenant_hash_names_the_same_tenant(admin_gateway: TestServer) -> None:
    """`X-Lastword-Tenant` with the hash the gateway logs sees what the tenant's key sees."""
    conversation_id = await ended_id(admin_gateway, await play_until_ended(admin_gateway))
    by_hash = {**AUTH, "X-Lastword-Tenant": tenant_of({"x-api-key": KEY})}
    status, body, _ = await admin(admin_gateway, f"/admin/conversations/{conversation_id}", by_hash)
    assert status == 200
    assert body["conversation"]["status"] == "ended"


async def test_lookup_by_alias(admin_gateway: TestServer) -> None:
    """A conversation sent with `X-Conversation-Id` can be looked up by that alias."""
    conversation_id, _ = await end_thread(
        admin_gateway, "Hi, a question on bread.", **{"X-Conversation-Id": "my-thread"}
    )
    status, body, _ = await admin(admin_gateway, "/admin/conversations/my-thread", OWNER)
    assert status == 200, body
    assert body["conversation"]["id"] == conversation_id
    assert body["conversation"]["alias"] == "my-thread"
    status, body, _ = await admin(admin_gateway, "/admin/conversations/no-such-thread", OWNER)
    assert status == 404
    assert body["error"]["type"] == "not_found"


async def test_endings_paginate_newest_first(admin_gateway: TestServer) -> None:
    """limit=1 pages through three endings newest first, following `next` until null."""
    ids = [(await end_thread(admin_gateway, f"Hello, thread number {i}."))[0] for i in range(3)]
    seen: list[str] = []
    path = "/admin/endings?limit=1"
    while True:
        status, body, _ = await admin(admin_gateway, path, OWNER)
        assert status == 200, body
        assert len(body["endings"]) <= 1
        seen += [e["conversation_id"] for e in body["endings"]]
        assert all(e["reason"] == "strikes" for e in body["endings"])
        if body["next"] is None:
            break
        path = f"/admin/endings?limit=1&before={body['next']}"
    assert seen == ids[::-1]
    status, body, _ = await admin(admin_gateway, "/admin/endings", OWNER)
    assert [e["conversation_id"] for e in body["endings"]] == ids[::-1]
    assert body["next"] is None


@pytest.mark.parametrize("query", ["limit=0", "limit=501", "limit=abc", "limit=", "before=zz"])
async def test_bad_listing_parameters(query: str, admin_gateway: TestServer) -> None:
    """A limit outside 1..500 or a cursor this API never gave is a 400."""
    status, body, _ = await admin(admin_gateway, f"/admin/endings?{query}", OWNER)
    assert status == 400
    assert body["error"]["type"] == "invalid_request_error"


async def test_another_tenant_sees_nothing(admin_gateway: TestServer) -> None:
    """Another tenant gets a 404 for the conversation, its alias, its unlock, and no endings."""
    conversation_id, _ = await end_thread(
        admin_gateway, "Good morning.", **{"X-Conversation-Id": "mine"}
    )
    for ref in (conversation_id, "mine"):
        status, _, _ = await admin(admin_gateway, f"/admin/conversations/{ref}", STRANGER)
        assert status == 404
    path = f"/admin/conversations/{conversation_id}/unlock"
    status, _, _ = await admin(admin_gateway, path, STRANGER, "POST", {"note": "let me in"})
    assert status == 404
    status, body, _ = await admin(admin_gateway, "/admin/endings", STRANGER)
    assert status == 200
    assert body == {"endings": [], "next": None}
    status, body, _ = await admin(admin_gateway, f"/admin/conversations/{conversation_id}", OWNER)
    assert body["conversation"]["status"] == "ended"


async def test_unlock_lifts_the_ending_and_forgives_strikes(admin_gateway: TestServer) -> None:
    """After an unlock the thread goes on, and one more strike does not end it again."""
    history = await play_until_ended(admin_gateway)
    conversation_id = await ended_id(admin_gateway, history)
    path = f"/admin/conversations/{conversation_id}/unlock"
    note = {"note": "appeal #12: research context", "actor": "reviewer@example.com"}
    status, body, _ = await admin(admin_gateway, path, OWNER, "POST", note)
    assert status == 200, body
    assert body["unlock"]["actor"] == "reviewer@example.com"
    assert body["unlock"]["lifted"] == 1
    assert body["conversation"]["status"] == "active"

    status, _, headers = await turn(admin_gateway, "anthropic", history, AFTER)
    assert status == 200
    assert headers["X-Conversation-Status"] == "active"
    status, _, headers = await turn(admin_gateway, "anthropic", history, HARMFUL[0])
    assert status == 200
    assert headers["X-Conversation-Status"] == "active"

    status, body, _ = await admin(admin_gateway, f"/admin/conversations/{conversation_id}", OWNER)
    conv = body["conversation"]
    assert conv["status"] == "active"
    [ending] = conv["endings"]
    [unlock] = conv["unlocks"]
    assert ending["lifted_at"] == unlock["at"]
    assert unlock["note"] == note["note"]
    assert [s["forgiven"] for s in conv["strikes"]] == [True, True, True, False]


@pytest.mark.parametrize(
    "body",
    [None, [], {}, {"note": ""}, {"note": "   "}, {"note": "x" * 1001}, {"note": "ok", "actor": 7}],
)
async def test_unlock_needs_a_note(body: Any, admin_gateway: TestServer) -> None:
    """An unlock without a note of 1 to 1000 characters (or with a bad actor) is a 400."""
    conversation_id = await ended_id(admin_gateway, await play_until_ended(admin_gateway))
    path = f"/admin/conversations/{conversation_id}/unlock"
    status, reply, _ = await admin(admin_gateway, path, OWNER, "POST", body)
    assert status == 400, reply
    status, reply, _ = await admin(admin_gateway, f"/admin/conversations/{conversation_id}", OWNER)
    assert reply["conversation"]["status"] == "ended"


async def test_unlock_defaults_the_actor(admin_gateway: TestServer) -> None:
    """An unlock naming no actor is recorded as by `admin`."""
    conversation_id = await ended_id(admin_gateway, await play_until_ended(admin_gateway))
    path = f"/admin/conversations/{conversation_id}/unlock"
    status, body, _ = await admin(admin_gateway, path, OWNER, "POST", {"note": "ok"})
    assert status == 200
    assert body["unlock"]["actor"] == "admin"


async def test_store_failure_is_a_503(
    admin_gateway: TestServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A store error answers 503 in the admin error shape."""

    async def broken(*_args: Any) -> None:
        raise StoreError("injected")

    monkeypatch.setattr(admin_gateway.app[RUNTIME].store, "endings", broken)
    status, body, _ = await admin(admin_gateway, "/admin/endings", OWNER)
    assert status == 503
    assert body == {"error": {"type": "store_unavailable", "message": "the store is unavailable"}}


async def test_pages_keep_endings_that_share_a_time(admin_gateway: TestServer) -> None:
    """Endings recorded at the very same instant are neither lost nor repeated across pages."""
    store = admin_gateway.app[RUNTIME].store
    assert store is not None
    tenant = tenant_of({"x-api-key": KEY})
    times = [1_700_000_000.0, 1_700_000_005.5, 1_700_000_005.5, 1_700_000_005.5, 1_700_000_009.0]
    for i, at in enumerate(times):
        await store.end(Ending(tenant, f"conv_tie{i}", f"fp{i}", "admin", (), at))
    seen: list[str] = []
    path = "/admin/endings?limit=2"
    while path:
        status, body, _ = await admin(admin_gateway, path, OWNER)
        assert status == 200, body
        seen += [e["conversation_id"] for e in body["endings"]]
        path = body["next"] and f"/admin/endings?limit=2&before={body['next']}"
    assert sorted(seen) == [f"conv_tie{i}" for i in range(5)]
    assert seen[0] == "conv_tie4" and seen[-1] == "conv_tie0"


async def test_an_admin_ends_every_branch_even_in_crisis(admin_gateway: TestServer) -> None:
    """POST .../end: the thread and its branches get the 410 (reason admin), crisis or not;
    an unlock lifts it again."""
    history: list[Message] = []
    status, _, headers = await turn(
        admin_gateway, "anthropic", history, "I want to die, I can't go on."
    )
    assert status == 200
    conversation_id = headers["X-Conversation-Id"]
    status, body, _ = await admin(admin_gateway, f"/admin/conversations/{conversation_id}", OWNER)
    assert status == 200
    assert [(c["category"], c["level"]) for c in body["conversation"]["crisis"]] == [
        ("self_harm_suicide", "crisis")
    ]
    path = f"/admin/conversations/{conversation_id}/end"
    status, body, _ = await admin(
        admin_gateway, path, OWNER, "POST", {"note": "abuse report #7", "actor": "t&s"}
    )
    assert status == 200, body
    assert body["ending"]["reason"] == "admin"
    status, answer, headers = await turn(admin_gateway, "anthropic", list(history), AFTER)
    assert (status, headers["X-Conversation-Status"]) == (410, "ended")
    assert answer["conversation_ended"]["reason"] == "admin"
    branch = [history[0], {"role": "assistant", "content": "Other answer."}]
    status, _, _ = await turn(admin_gateway, "anthropic", branch, "Another branch.")
    assert status == 410
    status, _, _ = await admin(
        admin_gateway,
        f"/admin/conversations/{conversation_id}/unlock",
        OWNER,
        "POST",
        {"note": "reviewed"},
    )
    assert status == 200
    status, _, _ = await turn(admin_gateway, "anthropic", list(history), AFTER)
    assert status == 200
