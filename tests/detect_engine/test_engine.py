"""The rules engine: one compiled pass, proven packs, reloads that never drop traffic."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from pathlib import Path

import aiohttp
import pytest
from aiohttp.test_utils import TestServer
from prometheus_client import REGISTRY

from gateway.detect.rules import RuleError, load_rules, parse_pack
from tests.conftest import GatewayFactory, base_url
from tests.e2e.conversation_play import body_for, send

PACK = """
pack: test
categories:
  - name: widgets
    kind: harmful
    rules:
      - id: widgets.en
        lang: en
        pattern: '\\bforge (?:a|the) widget\\b'
        examples:
          match: ["how do I forge a widget"]
          no_match: ["a widget forge is a tool"]
  - name: refusal
    kind: refusal
    rules:
      - id: refusal.en
        lang: en
        pattern: "^I can.t help"
        examples:
          match: ["I can't help with that."]
          no_match: ["I can help!"]
"""
EXTRA = """
  - name: gadgets
    kind: harmful
    rules:
      - id: gadgets.en
        lang: en
        pattern: '\\bsmuggle gadgets\\b'
        examples:
          match: ["help me smuggle gadgets"]
          no_match: ["gadgets are fun"]
"""


def _write(directory: Path, text: str) -> Path:
    directory.mkdir(exist_ok=True)
    (directory / "test.rules.yaml").write_text(text)
    return directory


def test_one_scan_reports_every_matching_rule(tmp_path: Path) -> None:
    """Several rules matching one text are each reported once, with their category."""
    rules = load_rules(_write(tmp_path, PACK + EXTRA))
    found = rules.scan("forge a widget, then smuggle gadgets; forge the widget", "harmful")
    assert [(m.rule_id, m.category) for m in found] == [
        ("widgets.en", "widgets"),
        ("gadgets.en", "gadgets"),
    ]
    assert rules.scan("nothing here", "harmful") == ()


def test_unchanged_packs_load_once_and_a_changed_pack_anew(tmp_path: Path) -> None:
    """Loading an unchanged folder again gives the set already built; a changed file, or the
    model switched off, gives a new one that reads the change."""
    folder = _write(tmp_path, PACK)
    first = load_rules(folder)
    assert load_rules(folder) is first
    assert load_rules(folder, model=False) is not first
    _write(tmp_path, PACK + EXTRA)
    changed = load_rules(folder)
    assert changed is not first
    assert [m.rule_id for m in changed.scan("smuggle gadgets", "harmful")] == ["gadgets.en"]
    assert first.scan("smuggle gadgets", "harmful") == ()


KEYED = PACK.replace(
    "        pattern: '\\bforge (?:a|the) widget\\b'\n",
    "        pattern: '\\bforge (?:a|the) widget\\b'\n        keywords: [widget]\n",
)


def test_keywords_arm_only_the_rules_they_name(tmp_path: Path) -> None:
    """A rule with keywords runs only on texts holding one; a rule without, on every text."""
    assert "keywords: [widget]" in KEYED
    rules = load_rules(_write(tmp_path, KEYED + EXTRA))
    harmful = rules.by_kind["harmful"]
    assert [harmful.rules[i].id for i in harmful.armed("nothing to see")] == ["gadgets.en"]
    armed = [harmful.rules[i].id for i in harmful.armed("a WIDGET")]
    assert armed == ["widgets.en", "gadgets.en"]
    assert [m.rule_id for m in rules.scan("how do I forge a Widget", "harmful")] == ["widgets.en"]


def test_an_example_without_any_keyword_is_refused() -> None:
    """A keyword list that would leave a match example unarmed is a broken rule."""
    broken = KEYED.replace("keywords: [widget]", "keywords: [gizmo]")
    with pytest.raises(RuleError, match=r"widgets\.en.*none of its keywords"):
        parse_pack(broken, "test.rules.yaml")


@pytest.mark.parametrize(
    ("broken", "named"),
    [
        (PACK.replace('          no_match: ["a widget forge is a tool"]\n', ""), "widgets.en"),
        (PACK.replace('["how do I forge a widget"]', '["forge something else"]'), "widgets.en"),
        (PACK.replace("(?:a|the)", "(?:a|the"), "widgets.en"),
        (PACK.replace("kind: harmful", "kind: bogus"), "widgets"),
    ],
)
def test_a_bad_rule_is_refused_by_its_id(broken: str, named: str) -> None:
    """No examples, a failing example, a bad pattern, a bad kind: refused, named."""
    with pytest.raises(RuleError, match=named):
        parse_pack(broken, "test.rules.yaml")


def test_rules_test_command_passes_the_shipped_packs() -> None:
    """`lastword rules test` proves every shipped rule and exits 0."""
    done = subprocess.run(
        [sys.executable, "-m", "gateway", "rules", "test"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "examples proven" in done.stdout


def test_rules_test_command_fails_on_a_broken_pack(tmp_path: Path) -> None:
    """A broken pack makes `lastword rules test` exit non-zero, naming the rule."""
    _write(tmp_path, PACK.replace('["how do I forge a widget"]', '["nope"]'))
    done = subprocess.run(
        [sys.executable, "-m", "gateway", "rules", "test", "--rules", str(tmp_path)],
        capture_output=True,
        check=False,
        text=True,
    )
    assert done.returncode == 1
    assert "widgets.en" in done.stderr


async def _flagged(gateway: TestServer, text: str) -> bool:
    """Whether a turn is flagged: a flagged turn the model refuses is a strike, visible in
    the admin view; simpler here, the detector counter moves."""

    def value() -> float:
        return (
            REGISTRY.get_sample_value(
                "lastword_detector_matches_total", {"kind": "harmful", "category": "gadgets"}
            )
            or 0.0
        )

    before = value()
    status, _, _ = await send(
        gateway, "anthropic", body_for("anthropic", [{"role": "user", "content": text}])
    )
    assert status == 200
    return value() > before


async def test_reload_by_admin_swaps_packs_and_keeps_the_old_on_error(
    make_gateway: GatewayFactory, tmp_path: Path
) -> None:
    """POST /admin/rules/reload loads new packs; a broken pack is refused, the old kept."""
    rules_dir = _write(tmp_path / "rules", PACK)
    gateway = await make_gateway(rules=rules_dir, admin_token="admin-secret")
    headers = {"Authorization": "Bearer admin-secret"}
    assert not await _flagged(gateway, "please smuggle gadgets for me")
    _write(rules_dir, PACK + EXTRA)
    async with aiohttp.ClientSession() as session:
        async with session.post(base_url(gateway) + "/admin/rules/reload", headers=headers) as r:
            assert r.status == 200
            assert (await r.json())["rules"]["count"] == 3
        assert await _flagged(gateway, "please smuggle gadgets for me")
        _write(rules_dir, PACK.replace("kind: harmful", "kind: bogus"))
        async with session.post(base_url(gateway) + "/admin/rules/reload", headers=headers) as r:
            assert r.status == 400
            assert "widgets" in (await r.json())["error"]["message"]
    assert await _flagged(gateway, "please smuggle gadgets for me")


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("packs.rules.yaml", "id: x\n".encode("utf-16")),  # not UTF-8
        ("crisis_resources.yaml", b"fallback: \xff\xfe\n"),
        ("spellings.yaml", b"spellings: \xff\xfe\n"),
    ],
)
async def test_a_reload_of_a_file_that_is_no_text_is_refused_and_the_old_kept(
    make_gateway: GatewayFactory, tmp_path: Path, name: str, content: bytes
) -> None:
    """A pack, crisis directory or spellings file that is not UTF-8 text gets a 400 naming
    the file, never a 500; the rules in use stay."""
    rules_dir = _write(tmp_path / "rules", PACK + EXTRA)
    gateway = await make_gateway(rules=rules_dir, admin_token="admin-secret")
    assert await _flagged(gateway, "please smuggle gadgets for me")
    (rules_dir / name).write_bytes(content)
    headers = {"Authorization": "Bearer admin-secret"}
    url = base_url(gateway) + "/admin/rules/reload"
    async with aiohttp.ClientSession() as session, session.post(url, headers=headers) as r:
        assert r.status == 400
        message = (await r.json())["error"]["message"]
    assert name in message
    assert await _flagged(gateway, "please smuggle gadgets for me")


async def test_a_reload_that_drops_a_category_the_settings_name_is_refused(
    make_gateway: GatewayFactory, tmp_path: Path
) -> None:
    """Packs that no longer report a category `policy.category_thresholds` names are refused
    on reload as at start (its one-strike ending would silently stop); the old set stays."""
    rules_dir = _write(tmp_path / "rules", PACK + EXTRA)
    gateway = await make_gateway(
        rules=rules_dir, admin_token="admin-secret", policy={"category_thresholds": {"gadgets": 1}}
    )
    assert await _flagged(gateway, "please smuggle gadgets for me")
    _write(rules_dir, PACK)
    headers = {"Authorization": "Bearer admin-secret"}
    url = base_url(gateway) + "/admin/rules/reload"
    async with aiohttp.ClientSession() as session, session.post(url, headers=headers) as r:
        assert r.status == 400
        message = (await r.json())["error"]["message"]
    assert "gadgets" in message
    assert await _flagged(gateway, "please smuggle gadgets for me")


async def test_sighup_reloads_the_rules(make_gateway: GatewayFactory, tmp_path: Path) -> None:
    """SIGHUP makes a running gateway load its packs again."""
    rules_dir = _write(tmp_path / "rules", PACK)
    gateway = await make_gateway(rules=rules_dir)
    assert not await _flagged(gateway, "please smuggle gadgets for me")
    _write(rules_dir, PACK + EXTRA)
    os.kill(os.getpid(), signal.SIGHUP)
    await asyncio.sleep(0.2)
    assert await _flagged(gateway, "please smuggle gadgets for me")
