"""`GET /admin/stats` and the reviewer's page files: counts per hour, tenant-scoped, no text."""

from __future__ import annotations

import itertools
from datetime import datetime

import aiohttp
import pytest
from aiohttp.test_utils import TestServer

from gateway.admin_stats import HOUR, hour_edges
from tests.conftest import GatewayFactory, base_url
from tests.e2e.conversation_play import GREETING, play_until_ended, turn
from tests.test_admin import AUTH, OWNER, STRANGER, TOKEN, admin, end_thread

CRISIS = "I want to kill myself."


def seconds(iso: str) -> float:
    """An API time back as epoch seconds."""
    return datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp()


async def crisis_turn(server: TestServer) -> None:
    """A conversation whose second turn is a crisis (the gateway redirects it)."""
    history: list[dict[str, str]] = []
    for text in (GREETING, CRISIS):
        status, _, _ = await turn(server, "anthropic", history, text)
        assert status == 200


@pytest.fixture
async def admin_gateway(make_gateway: GatewayFactory) -> TestServer:
    """A gateway with the admin API on; only strikes end threads."""
    return await make_gateway(admin_token=TOKEN, policy={"model_can_end": False})


def test_hour_edges_are_whole_utc_hours_ending_after_now() -> None:
    """The last hour holds `now`; every edge is a whole hour, one hour apart."""
    now = 1_700_000_000.0 + 1234.5
    edges = hour_edges(now, 24)
    assert len(edges) == 25
    assert all(e % HOUR == 0 for e in edges)
    assert edges[-2] <= now < edges[-1]
    assert all(b - a == HOUR for a, b in itertools.pairwise(edges))


async def test_stats_count_this_hours_endings_and_crisis_redirects(
    admin_gateway: TestServer,
) -> None:
    """Two ended threads and one crisis turn show in the current hour, the other hours zero."""
    await play_until_ended(admin_gateway)
    await end_thread(admin_gateway, "Another thread: what do tulips need?")
    await crisis_turn(admin_gateway)

    status, body, raw = await admin(admin_gateway, "/admin/stats", OWNER)

    assert status == 200, body
    stats = body["stats"]
    assert stats["hours"] == 24 and len(stats["buckets"]) == 24
    assert stats["totals"] == {"endings": 2, "crisis": 1}
    # This hour, or the one before if the play crossed an hour: never earlier.
    assert all(b["endings"] == b["crisis"] == 0 for b in stats["buckets"][:-2])
    assert sum(b["endings"] for b in stats["buckets"][-2:]) == 2
    starts = [seconds(b["start"]) for b in stats["buckets"]]
    assert starts == sorted(starts) and seconds(stats["to"]) - seconds(stats["from"]) == 24 * HOUR
    # Crisis marks are kept one day by default: they count over the whole window.
    assert stats["counted_from"] == {"endings": stats["from"], "crisis": stats["from"]}
    assert "sarin" not in raw and "kill" not in raw


async def test_stats_see_only_the_named_tenant(admin_gateway: TestServer) -> None:
    """Another tenant's stats are all zero."""
    await play_until_ended(admin_gateway)
    status, body, _ = await admin(admin_gateway, "/admin/stats?hours=3", STRANGER)
    assert status == 200
    assert len(body["stats"]["buckets"]) == 3
    assert body["stats"]["totals"] == {"endings": 0, "crisis": 0}


async def test_a_short_crisis_retention_is_stated(make_gateway: GatewayFactory) -> None:
    """Kept for less than the window, crisis counts start later than the window does."""
    gateway = await make_gateway(admin_token=TOKEN, retention={"crisis_days": 0.25})
    status, body, _ = await admin(gateway, "/admin/stats", OWNER)
    assert status == 200
    stats = body["stats"]
    crisis_from = seconds(stats["counted_from"]["crisis"])
    assert stats["counted_from"]["endings"] == stats["from"]
    assert seconds(stats["from"]) + 12 * HOUR < crisis_from < seconds(stats["to"])


@pytest.mark.parametrize("hours", ["0", "169", "-1", "2.5", "x", "", "0024x"])
async def test_bad_hours_are_a_400(admin_gateway: TestServer, hours: str) -> None:
    """`hours` must be a whole number from 1 to 168."""
    status, body, _ = await admin(admin_gateway, f"/admin/stats?hours={hours}", OWNER)
    assert status == 400
    assert body["error"]["type"] == "invalid_request_error"


@pytest.mark.parametrize(
    ("headers", "status"), [({}, 401), ({"Authorization": "Bearer wrong"}, 401), (AUTH, 400)]
)
async def test_stats_need_the_token_and_a_tenant(
    admin_gateway: TestServer, headers: dict[str, str], status: int
) -> None:
    """Without the token: 401; with it but no tenant named: 400."""
    got, body, _ = await admin(admin_gateway, "/admin/stats", headers)
    assert got == status
    assert "error" in body


@pytest.mark.parametrize(
    "path", ["/admin/ui", "/admin/ui/", "/admin/ui/review.js", "/admin/ui/review.css"]
)
async def test_the_page_is_served_without_the_token(admin_gateway: TestServer, path: str) -> None:
    """The page's files hold no data: served to anyone, locked down by a strict CSP."""
    async with (
        aiohttp.ClientSession() as session,
        session.get(base_url(admin_gateway) + path) as resp,
    ):
        assert resp.status == 200
        text = await resp.text()
        csp = resp.headers["Content-Security-Policy"]
        assert "default-src 'none'" in csp and "frame-ancestors 'none'" in csp
        assert resp.headers["X-Content-Type-Options"] == "nosniff"
    if "." not in path:
        assert resp.content_type == "text/html"
        assert 'data-admin-api="on"' in text and "No message text is stored" in text
    assert TOKEN not in text


async def test_files_the_page_does_not_ship_are_not_found(admin_gateway: TestServer) -> None:
    """A name under /admin/ui the page does not ship is a JSON 404."""
    async with aiohttp.ClientSession() as session:
        url = base_url(admin_gateway)
        for name in ("secret.txt", "admin.py", "index.html.bak", "Index.html"):
            async with session.get(url + "/admin/ui/" + name) as resp:
                assert resp.status == 404
                assert (await resp.json())["error"]["type"] == "not_found"


async def test_with_the_api_off_the_page_says_so(make_gateway: GatewayFactory) -> None:
    """No admin token configured: the page is still served and marked off; the API is a 404."""
    gateway = await make_gateway()
    async with aiohttp.ClientSession() as session:
        async with session.get(base_url(gateway) + "/admin/ui") as resp:
            assert resp.status == 200
            assert 'data-admin-api="off"' in await resp.text()
        async with session.get(base_url(gateway) + "/admin/stats", headers=OWNER) as resp:
            assert resp.status == 404
