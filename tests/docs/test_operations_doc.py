"""docs/operations.md names only settings, defaults and admin routes the gateway has.

Settings and defaults are checked against `Settings`, admin routes and headers against the
application's router, YAML blocks by the loaders that would read them (settings, rule
packs, the crisis directory), and the admin `curl` examples run against a real gateway.
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import yaml
from pydantic import BaseModel
from pydantic_core import PydanticUndefined

from gateway import admin
from gateway.app import create_app
from gateway.config import Settings, load_settings
from gateway.conversation import tenant_of
from gateway.crisis import parse_directory
from gateway.crisis.loader import DEFAULT_PATH as CRISIS_DIRECTORY
from gateway.crisis.locale import Locale
from gateway.detect.rules import parse_pack
from tests.conftest import GatewayFactory, base_url
from tests.e2e.conversation_play import GREETING, HARMFUL, turn

DOC = Path(__file__).resolve().parents[2] / "docs" / "operations.md"
RULES = Path(__file__).resolve().parents[2] / "rules"
TEXT = DOC.read_text(encoding="utf-8")
_FENCE = re.compile(r"^```(\w*)\n(.*?)^```", re.MULTILINE | re.DOTALL)
# Snake_case names in backticks that are not settings: request fields, log events, labels,
# metric names, rule categories and the like. Anything else with an underscore must be one.
NOT_SETTINGS = {
    "tool_choice",
    "end_conversation",
    "end_request",
    "finish_reason",
    "message_delta",
    "crisis_resources",
    "no_match",
    "chat_url",
    "self_harm",
    "harm_to_others",
    "self_harm_suicide",
    "weapons_mass_casualty",
    "terrorism_violence",
    "abuse_of_assistant",
    "end_tool",
    "stop_reason",
    "invalid_request_error",
    "not_found",
    "store_unavailable",
    "classifier_unavailable",
    "store_error",
    "rules_reload_failed",
    "ending_shadowed",
    "crisis_redirect",
    "conversation_unlocked",
    "lifted_at",
    "content_filter",
    "llama_guard",
    "conv_",
    "api_error",
    "server_error",
    "startup_failed",
    "store_unreachable_at_start",
    "worker_exited",
    "admin_token_on_command_line",
    "previous_response_id",
    "spelled_out",  # a key of rules/spellings.yaml
    "function_words",  # another
}


def fenced(language: str) -> list[str]:
    """The doc's fenced blocks in `language`."""
    return [m.group(2) for m in _FENCE.finditer(TEXT) if m.group(1) == language]


def inline_code() -> list[str]:
    """Every inline code span of the doc's prose (fenced blocks left out)."""
    prose = _FENCE.sub("", TEXT)
    return re.findall(r"`([^`\n]+)`", prose)


def _field(model: type[BaseModel], name: str) -> Any:
    info = model.model_fields.get(name)
    if info is None:
        raise KeyError(name)
    return info


def _nested_model(annotation: Any) -> type[BaseModel] | None:
    """The settings model a field holds (`X`, or `X | None`), if any."""
    candidates = getattr(annotation, "__args__", None) or (annotation,)
    for candidate in candidates:
        if isinstance(candidate, type) and issubclass(candidate, BaseModel):
            return candidate
    return None


def resolve(path: str) -> Any:
    """The pydantic field a dotted setting name names; KeyError when there is none."""
    model: type[BaseModel] | None = Settings
    info = None
    for part in path.split("."):
        if model is None:
            raise KeyError(path)
        info = _field(model, part)
        model = _nested_model(info.annotation)
    return info


def all_field_names(model: type[BaseModel] = Settings) -> set[str]:
    """Every field name of the settings, nested sections included."""
    names: set[str] = set()
    for name, info in model.model_fields.items():
        names.add(name)
        nested = _nested_model(info.annotation)
        if nested is not None:
            names |= all_field_names(nested)
    return names


def default_of(path: str) -> Any:
    """A setting's default (PydanticUndefined when it is required)."""
    info = resolve(path)
    if info.default_factory is not None:
        return info.default_factory()
    return info.default


def setting_names() -> list[str]:
    """The backticked names of the prose that look like settings."""
    names = []
    for span in inline_code():
        head = span.split(":", 1)[0].strip()
        if head.startswith("lastword_"):
            continue  # a metric
        if re.fullmatch(r"[a-z][a-z0-9_]*(?:\.[a-z][a-z0-9_]*)+", head):
            if head.split(".")[0] in Settings.model_fields:
                names.append(head)
        elif re.fullmatch(r"[a-z][a-z0-9_]*", head) and (
            "_" in head or head in Settings.model_fields
        ):
            names.append(head)
    return names


def test_the_doc_mentions_the_policy_settings() -> None:
    """The guide covers the policy, shadow mode, store failure, crisis and retention."""
    names = set(setting_names())
    for expected in (
        "policy.threshold",
        "policy.category_thresholds",
        "policy.lock_scope",
        "policy.crisis_turns",
        "policy.model_can_end",
        "crisis.country_header",
        "crisis.default_country",
        "crisis.actions",
        "classifier.fail_open",
        "retention.strikes_days",
        "store_failure",
    ):
        assert expected in names


@pytest.mark.parametrize("name", sorted(set(setting_names())))
def test_every_setting_named_exists(name: str) -> None:
    """A backticked setting name is a field of `Settings` (nested sections walked)."""
    if "." in name:
        resolve(name)
    else:
        assert name in all_field_names() or name in NOT_SETTINGS, name


def test_every_environment_variable_is_a_top_level_setting() -> None:
    """`LASTWORD_X` names a top-level setting: the only ones the environment can set."""
    variables = set(re.findall(r"\bLASTWORD_([A-Z_]+)\b", TEXT))
    assert variables
    for variable in variables:
        assert variable.lower() in Settings.model_fields, variable


def _default_cell(cell: str) -> Any:
    """The value a table's default cell states."""
    first = cell.strip().strip("`").split(" (")[0].strip().strip("`")
    if first in ("none", "null"):
        return None
    if first == "required":
        return PydanticUndefined
    return yaml.safe_load(first)


def settings_tables() -> list[tuple[str, str]]:
    """(setting, default) pairs of every table whose columns begin `setting | default`."""
    pairs = []
    rows = iter(TEXT.splitlines())
    for line in rows:
        if re.match(r"\|\s*setting\s*\|\s*default\s*\|", line):
            next(rows)  # the separator
            for row in rows:
                if not row.startswith("|"):
                    break
                cells = [c.strip() for c in row.strip("|").split("|")]
                pairs.append((cells[0].strip("`"), cells[1]))
    return pairs


@pytest.mark.parametrize(("name", "cell"), settings_tables())
def test_every_default_stated_is_the_real_default(name: str, cell: str) -> None:
    """The default a settings table gives is the one in `gateway/config.py`."""
    assert _default_cell(cell) == default_of(name), (name, cell)


def test_the_complete_file_states_the_defaults() -> None:
    """In the complete settings file, every value without a `default:` comment is the default."""
    block = next(b for b in fenced("yaml") if b.startswith("host:"))
    data = yaml.safe_load(block)
    assert set(data) == set(Settings.model_fields) - {"rules", "classifier"}
    section = ""
    for line in block.splitlines():
        key, _, rest = line.partition(":")
        name = key.strip()
        if not line.startswith(" "):
            section = name
            path = name
        else:
            path = f"{section}.{name}"
        value, _, comment = rest.partition("#")
        if not value.strip() or comment.strip().startswith("default"):
            continue
        stated = yaml.safe_load(value)
        actual = default_of(path)
        if hasattr(actual, "get_secret_value"):
            actual = actual.get_secret_value()
        assert stated == actual, path


def _yaml_kind(data: Any) -> str:
    if isinstance(data, dict) and isinstance(data.get("categories"), list):
        return "rule pack"
    if isinstance(data, dict) and "countries" in data:
        return "crisis directory"
    return "settings"


@pytest.mark.parametrize("block", fenced("yaml"), ids=lambda b: b.splitlines()[0])
def test_every_yaml_block_loads(block: str, tmp_path: Path) -> None:
    """Settings files validate; rule packs prove their examples; directory entries load."""
    data = yaml.safe_load(block)
    kind = _yaml_kind(data)
    if kind == "rule pack":
        rules = parse_pack(block, "operations.md")
        assert rules and all(rule.keywords for rule in rules)
    elif kind == "crisis directory":
        shipped = yaml.safe_load(CRISIS_DIRECTORY.read_text(encoding="utf-8"))
        for key, entries in data.items():
            shipped[key] = {**shipped.get(key, {}), **entries}
        directory = parse_directory(yaml.safe_dump(shipped, allow_unicode=True))
        for code in data["countries"]:
            resources = directory.resources(Locale(code, "en"), "self_harm_suicide")
            assert resources["country"] == code
    else:
        config = tmp_path / "lastword.yaml"
        config.write_text(block, encoding="utf-8")
        load_settings(config_file=config, environ={})


def admin_routes() -> list[tuple[str, re.Pattern[str]]]:
    """(method, path pattern) of every admin route the application serves."""
    app = create_app(Settings(admin_token="t", store="memory://"))
    routes = []
    for route in app.router.routes():
        canonical = route.resource.canonical if route.resource is not None else ""
        if route.method == "HEAD":
            continue  # added with every GET
        if canonical.startswith("/admin/") and "{tail" not in canonical:
            pattern = re.sub(r"\\\{\w+\\\}", "[^/]+", re.escape(canonical))
            routes.append((route.method, re.compile(pattern)))
    return routes


def _served(method: str | None, path: str, routes: list[tuple[str, re.Pattern[str]]]) -> bool:
    return any(
        pattern.fullmatch(path) and method in (None, route_method)
        for route_method, pattern in routes
    )


def test_every_admin_route_mentioned_exists() -> None:
    """Each `/admin/...` path in the doc, with its method where one is given, is a route."""
    routes = admin_routes()
    mentions = re.findall(r"(?:\b(GET|POST) )?/admin(/[\w{}.\-/]+)", TEXT)
    assert len(mentions) >= 8
    for method, tail in mentions:
        path = "/admin" + tail.rstrip("/.")
        assert _served(method or None, path, routes), f"{method} {path}"
    documented = {f"{m} {p}" for m, p in re.findall(r"`(GET|POST) (/admin/[^`?]+)", TEXT)}
    served = {f"{m} {p.pattern}" for m, p in routes}
    assert len(documented) == len(served), (documented, served)


def test_the_rules_test_sample_is_what_the_command_prints() -> None:
    """The sample output of `lastword rules test` is the shipped packs' real output
    (version hashes aside: they change with every edit of a pack)."""
    command = next(b for b in fenced("sh") if "lastword rules test" in b)
    sample = next(b for b in fenced("") if "examples proven" in b)
    assert "--rules ./rules" in command
    done = subprocess.run(
        [sys.executable, "-m", "gateway", "rules", "test", "--rules", str(RULES)],
        capture_output=True, text=True, check=True, timeout=120,
    )  # fmt: skip

    def unversioned(text: str) -> str:
        return re.sub(r"version [0-9a-f]{12}", "version <hash>", text).strip()

    assert unversioned(sample) == unversioned(done.stdout)


def curl_commands() -> list[str]:
    """Every curl command of the doc's shell blocks, continuation lines joined."""
    commands = []
    for block in fenced("sh"):
        joined = block.replace("\\\n", " ")
        commands += [line for line in joined.splitlines() if "curl " in line]
    return commands


def test_admin_curl_examples_use_real_routes_and_headers() -> None:
    """Each admin curl names a served route with its method and only headers the API reads."""
    routes = admin_routes()
    assert admin.TENANT_HEADER == "X-Lastword-Tenant"
    allowed = {"authorization", "x-api-key", admin.TENANT_HEADER.lower(), "content-type"}
    commands = [c for c in curl_commands() if "/admin" in c]
    assert len(commands) >= 5
    for command in commands:
        method = re.search(r"-X (\w+)", command)
        path = re.search(r"\$LASTWORD(/admin/[^\"?\s]*)", command)
        assert path is not None, command
        assert _served(method.group(1) if method else "GET", path.group(1), routes), command
        for header in re.findall(r'-H "([^:]+):', command):
            assert header.lower() in allowed, header
        assert "Authorization: Bearer $ADMIN_TOKEN" in command


CUSTOMER_KEY = "sk-ops-doc-customer-key"
ALIAS = "support-chat-17"
OTHER_GREETING = "Good morning! Any tips for growing basil on a windowsill?"


async def _ended_conversations(gateway: Any) -> list[dict[str, Any]]:
    """Two of the customer's conversations ended by three strikes; the first, named
    `support-chat-17`, is returned."""
    histories = []
    for greeting, named in ((GREETING, {"X-Conversation-Id": ALIAS}), (OTHER_GREETING, {})):
        headers = {"x-api-key": CUSTOMER_KEY, **named}
        history: list[dict[str, Any]] = []
        resp_headers: Any = {}
        for text in [greeting, *HARMFUL]:
            status, _, resp_headers = await turn(gateway, "anthropic", history, text, **headers)
            assert status == 200
        assert resp_headers["X-Conversation-Status"] == "ended"
        histories.append(history)
    return histories[0]


async def _bash(script: str, env: dict[str, str]) -> tuple[int, str]:
    proc = await asyncio.create_subprocess_exec(
        "bash",
        "-euo",
        "pipefail",
        "-c",
        script,
        env={**os.environ, **env},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    out, _ = await asyncio.wait_for(proc.communicate(), timeout=60)
    assert proc.returncode is not None
    return proc.returncode, out.decode()


@pytest.mark.skipif(
    shutil.which("curl") is None or shutil.which("jq") is None, reason="needs curl and jq"
)
async def test_admin_curl_examples_run(make_gateway: GatewayFactory) -> None:
    """The admin examples, run in order, inspect, list, unlock, and reload the rules."""
    gateway = await make_gateway(admin_token="doc-admin-token")
    history = await _ended_conversations(gateway)
    env = {
        "LASTWORD": base_url(gateway),
        "ADMIN_TOKEN": "doc-admin-token",
        "CUSTOMER_KEY": CUSTOMER_KEY,
        "TENANT": tenant_of({"x-api-key": CUSTOMER_KEY}),
    }
    blocks = [b for b in fenced("sh") if "$LASTWORD/admin" in b]
    assert len(blocks) >= 4
    for block in blocks:
        code, out = await _bash(block, env)
        assert code == 0, f"{block}\n---\n{out}"
        if "/unlock" in block:
            assert '"lifted":1' in out.replace(" ", ""), out
        if "BEFORE" in block:
            # One ending a page: the loop must follow the cursor to the second one.
            code, out = await _bash(block.replace("limit=50", "limit=1"), env)
            assert code == 0, out
            assert len(out.splitlines()) == 2, out
    status, _, headers = await turn(
        gateway, "anthropic", history, "Sorry. Tell me about shade gardens.",
        **{"x-api-key": CUSTOMER_KEY},
    )  # fmt: skip
    assert (status, headers["X-Conversation-Status"]) == (200, "active")


async def test_the_admin_api_is_off_without_a_token(make_gateway: GatewayFactory) -> None:
    """Without an admin token every admin path answers 404, the token or not."""
    gateway = await make_gateway()
    async with aiohttp.ClientSession() as session:
        url = base_url(gateway) + "/admin/endings"
        headers = {"Authorization": "Bearer x", "X-Api-Key": CUSTOMER_KEY}
        async with session.get(url, headers=headers) as resp:
            assert resp.status == 404
            assert (await resp.json())["error"]["type"] == "not_found"
