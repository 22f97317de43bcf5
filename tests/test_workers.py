"""`lastword serve --workers 2`: one port, one scrape for all, SIGHUP reaches every worker."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from gateway.detect.rules import DEFAULT_RULES_DIR
from tests.conftest import free_port


def _get(url: str) -> str:
    with urllib.request.urlopen(url, timeout=5) as resp:
        return str(resp.read().decode())


def _wait_ready(url: str, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        assert proc.poll() is None, "the gateway exited"
        try:
            _get(url + "/healthz")
            return
        except OSError:
            time.sleep(0.1)
    raise AssertionError("the gateway did not start")


@pytest.fixture
def rules_dir(tmp_path: Path) -> Path:
    """A copy of the shipped rule packs, to change under a running gateway."""
    target = tmp_path / "rules"
    shutil.copytree(DEFAULT_RULES_DIR, target)
    return target


@pytest.fixture
def served(rules_dir: Path, tmp_path: Path) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """A two-worker gateway in its own process group."""
    port = free_port()
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "metrics")}
    (tmp_path / "metrics").mkdir()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gateway",
            "serve",
            "--port",
            str(port),
            "--workers",
            "2",
            "--store",
            "memory://",
            "--rules",
            str(rules_dir),
            "--log-level",
            "warning",
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_ready(url, proc)
        yield url, proc
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=20)


def _rules_info(text: str) -> dict[str, float]:
    found = re.findall(r'lastword_rules_info\{rules="\d+",version="(\w+)"\} (\S+)', text)
    return {version: float(value) for version, value in found}


def test_sighup_reloads_every_worker_and_keeps_the_supervisor(
    served: tuple[str, subprocess.Popen[bytes]], rules_dir: Path
) -> None:
    """After SIGHUP to the supervisor, every worker serves the new rule set; none died."""
    url, proc = served
    old = [v for v, value in _rules_info(_get(url + "/metrics")).items() if value == 1]
    assert len(old) == 1
    pack = rules_dir / "refusals.rules.yaml"
    pack.write_text(pack.read_text() + "\n# changed\n")
    os.kill(proc.pid, signal.SIGHUP)
    # Generous: each worker compiles the packs and loads the model again, and on a busy
    # 2-core machine two workers doing that at once take seconds.
    deadline = time.monotonic() + 60
    info: dict[str, float] = {}
    while time.monotonic() < deadline:
        info = _rules_info(_get(url + "/metrics"))
        if info.get(old[0]) == 0 and any(v != old[0] and x == 1 for v, x in info.items()):
            break
        time.sleep(0.2)
    assert info.get(old[0]) == 0, f"some worker kept the old rules: {info}"
    assert proc.poll() is None, "the supervisor died on SIGHUP"
    assert _get(url + "/healthz")
