"""Settings: defaults < file < environment < flags, validated once with clear errors."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from gateway.config import ConfigError, load_settings
from gateway.detect import RuleSet
from gateway.startup import check_names, load_packs


def test_precedence_is_file_then_environment_then_flags(tmp_path: Path) -> None:
    """Each later source wins over the earlier ones, setting by setting."""
    config = tmp_path / "lastword.yaml"
    config.write_text("port: 9001\nworkers: 3\nstore: memory://\npolicy:\n  threshold: 5\n")
    settings = load_settings(
        {"port": 9003},
        config,
        {"LASTWORD_PORT": "9002", "LASTWORD_WORKERS": "2", "LASTWORD_SHADOW": "true"},
    )
    assert (settings.port, settings.workers, settings.store) == (9003, 2, "memory://")
    assert settings.shadow is True
    assert settings.policy.threshold == 5
    assert settings.policy.lock_scope == "path"


@pytest.mark.parametrize(
    ("values", "named"),
    [
        ({"port": 70000}, "port"),
        ({"store": "postgres://x"}, "store"),
        ({"anthropic_upstream": "ftp://x"}, "anthropic_upstream"),
        ({"policy": {"lock_scope": "everything"}}, "policy.lock_scope"),
        ({"store_failure": "maybe"}, "store_failure"),
        ({"no_such_setting": 1}, "no_such_setting"),
    ],
)
def test_invalid_settings_name_the_setting(values: dict[str, object], named: str) -> None:
    """An invalid value is refused with the setting's name in the message."""
    with pytest.raises(ConfigError, match=named):
        load_settings(values, None, {})


@pytest.mark.parametrize(
    "url",
    [
        "redis+cluster://r1:7000,r2:7000,r3:7000",
        "rediss+cluster://:pw@r1.example.com:7000",
        "redis+sentinel://s1:26379,s2:26379,s3:26379/lastword",
        "redis+sentinel://s1/lastword/2",
    ],
)
def test_cluster_and_sentinel_store_urls_are_accepted(url: str) -> None:
    """Redis Cluster and Sentinel URLs are valid store settings."""
    assert load_settings({"store": url}, None, {}).store == url


def test_a_missing_or_broken_file_is_a_clear_error(tmp_path: Path) -> None:
    """A config file that cannot be read or parsed is named in the error."""
    with pytest.raises(ConfigError, match="cannot be read"):
        load_settings({}, tmp_path / "nope.yaml", {})
    broken = tmp_path / "broken.yaml"
    broken.write_text("port: [1,\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_settings({}, broken, {})


def test_check_config_exits_2_with_a_message_and_no_traceback() -> None:
    """`lastword check-config` with a bad flag: exit 2, one line, no traceback."""
    done = subprocess.run(
        [sys.executable, "-m", "gateway", "check-config", "--store", "bogus://"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 2
    assert "store" in done.stderr
    assert "Traceback" not in done.stderr


def test_the_maximum_event_size_defaults_to_16_mib_and_has_a_floor() -> None:
    """`max_event_bytes`: 16 MiB unless set (here from the environment); under 1 KiB refused."""
    assert load_settings({}, None, {}).max_event_bytes == 16 * 1024 * 1024
    settings = load_settings({}, None, {"LASTWORD_MAX_EVENT_BYTES": "2097152"})
    assert settings.max_event_bytes == 2 * 1024 * 1024
    with pytest.raises(ConfigError, match="max_event_bytes"):
        load_settings({"max_event_bytes": 100}, None, {})


@pytest.mark.parametrize(
    ("values", "sentence"),
    [
        ({"port": 70000}, "port: must be at most 65535, not 70000"),
        ({"port": "http"}, "port: must be a whole number, not 'http'"),
        ({"workers": 0}, "workers: must be at least 1, not 0"),
        ({"shadow": "maybe"}, "shadow: must be true or false, not 'maybe'"),
        ({"policy": {"lock_scope": "all"}}, "policy.lock_scope: must be one of 'path', "
         "'conversation', not 'all'"),
        ({"policy": {"treshold": 2}}, "policy.treshold: not a setting (did you mean threshold?)"),
        ({"polcy": {}}, "polcy: not a setting (did you mean policy?)"),
        ({"policy": 5}, "policy: must be a section of settings (key: value), not 5"),
        ({"policy": {"category_thresholds": {"csam": 0}}},
         "policy.category_thresholds.csam: must be at least 1, not 0"),
        ({"retention": {"strikes_days": 0}}, "retention.strikes_days: must be more than 0, not 0"),
        ({"classifier": {}}, "classifier.url: is required"),
        ({"store": "postgres://x"},
         "store: must be sqlite:///path, redis://host:port/db, redis+cluster://host:port[,...],"
         " redis+sentinel://host:port[,...]/service_name[/db] or memory://"),
        ({"store": "redis+sentinel://:pw@s1:26379"}, "store: bad Redis Sentinel URL: use "
         "redis+sentinel://host:port[,host:port...]/service_name[/db]"),
        ({"store": "redis+cluster://:pw@r1:7000,r2:x"}, "store: bad Redis store URL: host"
         " 'r2:x'; use redis+cluster://host:port[,host:port...]"),
        ({"store": "redis+cluster://r1:7000/3"},
         "store: bad Redis Cluster URL: a cluster has database 0 only"),
        ({"port": 9090, "metrics_port": 9090}, "metrics_port: must differ from port (9090)"),
    ],
)  # fmt: skip
def test_errors_are_sentences_naming_the_setting(values: dict[str, object], sentence: str) -> None:
    """Each problem reads as `setting: what is wrong`, not as the validator's own words."""
    with pytest.raises(ConfigError) as raised:
        load_settings(values, None, {})
    assert raised.value.problems == (sentence,)
    assert "Input should" not in str(raised.value)


def test_secrets_are_never_quoted_back() -> None:
    """A credential of the wrong type is named, its value not repeated."""
    values = {"admin_token": 31337424242, "classifier": {"url": "http://x", "api_key": 98765432}}
    with pytest.raises(ConfigError) as raised:
        load_settings(values, None, {})
    assert raised.value.problems == (
        "admin_token: must be text",
        "classifier.api_key: must be text",
    )
    assert "31337424242" not in str(raised.value)
    assert "98765432" not in str(raised.value)


def _checked(policy: dict[str, object], crisis: dict[str, object] | None = None) -> list[str]:
    settings = load_settings({"policy": policy, "crisis": crisis or {}}, None, {})
    try:
        check_names(settings, load_packs(None).rules)
    except ConfigError as exc:
        return list(exc.problems)
    return []


HARMFUL = "abuse_of_assistant, csam, terrorism_violence, weapons_mass_casualty"


def test_a_misspelled_category_is_refused_with_the_known_ones() -> None:
    """`{csma: 1}` is refused, naming the key, a close match and every known category."""
    assert _checked({"category_thresholds": {"csma": 1}}) == [
        "policy.category_thresholds.csma: unknown category 'csma' "
        f"(did you mean csam? known: {HARMFUL})"
    ]


def test_a_crisis_category_cannot_take_a_strike_threshold() -> None:
    """Crisis turns are never strikes: a crisis category in the thresholds is refused."""
    assert _checked({"category_thresholds": {"self_harm_suicide": 2}}) == [
        "policy.category_thresholds.self_harm_suicide: 'self_harm_suicide' is not a harmful "
        f"category (known: {HARMFUL})"
    ]


def test_unknown_crisis_action_categories_are_refused() -> None:
    """`crisis.actions` keys must be crisis categories of the loaded packs."""
    problems = _checked({}, {"actions": {"suicide": ["guide"], "csam": ["guide"]}})
    assert problems == [
        "crisis.actions.suicide: unknown category 'suicide' "
        "(known: harm_to_others, self_harm_suicide)",
        "crisis.actions.csam: 'csam' is not a crisis category "
        "(known: harm_to_others, self_harm_suicide)",
    ]


def test_known_categories_pass() -> None:
    """The shipped categories, spelled right, pass."""
    assert _checked({"category_thresholds": {"csam": 1, "abuse_of_assistant": 5}},
                    {"actions": {"harm_to_others": ["guide"]}}) == []  # fmt: skip


def test_categories_the_classifier_reports_count_as_known() -> None:
    """A category the packs lack but the configured classifier reports is known."""
    shipped = load_packs(None).rules.rules
    rules = RuleSet([r for r in shipped if r.category != "weapons_mass_casualty"], "v")
    policy = {"category_thresholds": {"weapons_mass_casualty": 1}}
    guard = {"url": "http://127.0.0.1:9", "kind": "llama_guard", "model": "m"}
    check_names(load_settings({"policy": policy, "classifier": guard}, None, {}), rules)
    with pytest.raises(ConfigError, match="unknown category 'weapons_mass_casualty'"):
        check_names(load_settings({"policy": policy}, None, {}), rules)


def test_check_config_names_each_problem_on_its_own_line(tmp_path: Path) -> None:
    """`check-config` with a misspelled category: exit 2, one sentence a problem."""
    config = tmp_path / "lastword.yaml"
    config.write_text("policy:\n  category_thresholds: {csma: 1}\ncrisis:\n  actions: {x: []}\n")
    done = subprocess.run(
        [sys.executable, "-m", "gateway", "check-config", "--config", str(config)],
        capture_output=True, text=True, check=False, timeout=120,
    )  # fmt: skip
    assert done.returncode == 2
    lines = done.stderr.splitlines()
    assert [line.split(":")[1].strip() for line in lines] == [
        "policy.category_thresholds.csma",
        "crisis.actions.x",
    ]
    assert done.stdout == ""
