"""Settings: defaults < file < environment < flags, validated once with clear errors."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from gateway.config import ConfigError, load_settings


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


def test_a_missing_or_broken_file_is_a_clear_error(tmp_path: Path) -> None:
    """A config file that cannot be read or parsed is named in the error."""
    with pytest.raises(ConfigError, match="cannot read"):
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
