"""After a scripted scenario every counter moved by exactly the expected amount."""

from __future__ import annotations

import asyncio
import re
import shutil
from asyncio.subprocess import PIPE, STDOUT
from typing import Any

import aiohttp
from aiohttp.test_utils import TestServer
from prometheus_client import REGISTRY

from tests.conftest import GatewayFactory, base_url
from tests.e2e.conversation_play import AFTER, play_until_ended, turn
from tests.e2e.sdk_calls import KEY

WATCHED = {
    ("lastword_requests_total", (("dialect", "anthropic"), ("outcome", "forwarded"))): 5,
    ("lastword_requests_total", (("dialect", "anthropic"), ("outcome", "refused_ended"))): 1,
    ("lastword_refused_as_ended_total", (("dialect", "anthropic"),)): 1,
    ("lastword_conversations_ended_total", (("reason", "strikes"),)): 1,
    ("lastword_strikes_total", (("category", "weapons_mass_casualty"),)): 3,
    ("lastword_refusals_total", (("source", "provider"),)): 3,
    (
        "lastword_detector_matches_total",
        (("kind", "harmful"), ("category", "weapons_mass_casualty")),
    ): 3,
    ("lastword_detector_matches_total", (("kind", "crisis"), ("category", "self_harm_suicide"))): 1,
}


def _value(name: str, labels: tuple[tuple[str, str], ...]) -> float:
    return REGISTRY.get_sample_value(name, dict(labels)) or 0.0


async def test_counters_move_by_exactly_the_expected_amounts(
    make_gateway: GatewayFactory,
) -> None:
    """Benign turn, crisis turn, an ending by strikes, one refused continuation."""
    gateway = await make_gateway(policy={"model_can_end": False})
    before = {key: _value(*key) for key in WATCHED}
    crisis: list[dict[str, Any]] = []
    status, _, _ = await turn(gateway, "anthropic", crisis, "I want to die tonight.")
    assert status == 200
    history = await play_until_ended(gateway)  # a benign turn, then three strikes
    status, _, _ = await turn(gateway, "anthropic", history, AFTER)
    assert status == 410
    moved = {key: _value(*key) - before[key] for key in WATCHED}
    assert moved == WATCHED


async def _scrape(gateway: TestServer) -> str:
    async with (
        aiohttp.ClientSession() as session,
        session.get(base_url(gateway) + "/metrics") as resp,
    ):
        assert resp.status == 200
        assert resp.headers["Content-Type"].startswith("text/plain")
        return await resp.text()


async def test_exposition_passes_promtool_and_holds_no_unbounded_labels(
    gateway: TestServer,
) -> None:
    """`promtool check metrics` finds no problem; no label holds an id, a key or text."""
    history = await play_until_ended(gateway)
    await turn(gateway, "anthropic", history, AFTER)
    text = await _scrape(gateway)
    promtool = shutil.which("promtool")
    assert promtool, "promtool is missing: scripts/test.sh installs Debian's prometheus"
    proc = await asyncio.create_subprocess_exec(
        promtool, "check", "metrics", stdin=PIPE, stdout=PIPE, stderr=STDOUT
    )
    out, _ = await proc.communicate(text.encode())
    assert proc.returncode == 0, out.decode()
    assert "conv_" not in text
    assert KEY not in text
    assert "sarin" not in text.lower()
    for value in re.findall(r'="([^"]*)"', text):
        assert len(value) <= 40, f"a label value looks unbounded: {value!r}"
    assert "lastword_build_info" in text and "lastword_rules_info" in text
