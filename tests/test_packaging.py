"""The wheel: installed anywhere (`--target`, `--prefix`), it finds its rules and its version."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

import gateway
from gateway.crisis import load_directory
from gateway.detect.rules import load_rules

ROOT = Path(__file__).resolve().parent.parent
# Everything the wheel build reads; the Dockerfile's builder stage copies exactly these.
BUILD_SOURCES = ("pyproject.toml", "setup.py", "README.md", "gateway/", "rules/")

# Run from the installed copy: what it loads, from where, and which version it reports.
PROBE = """
import importlib.metadata, json
import gateway
from gateway.crisis import load_directory
from gateway.detect.rules import DEFAULT_RULES_DIR, load_rules
print(json.dumps({
    "package": gateway.__file__,
    "rules_dir": str(DEFAULT_RULES_DIR),
    "rules": len(load_rules().rules),
    "countries": len(load_directory().countries),
    "version": gateway.__version__,
    "metadata_version": importlib.metadata.version("lastword"),
}))
"""


def _run(command: list[str], cwd: Path, env: dict[str, str] | None = None) -> str:
    """Run a command to completion; fail with its output unless it succeeds."""
    done = subprocess.run(
        command, cwd=cwd, env=env, capture_output=True, text=True, timeout=300, check=False
    )
    assert done.returncode == 0, f"{command}:\n{done.stdout}\n{done.stderr}"
    return done.stdout


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The wheel, built offline from a copy of the build sources only (no checkout around it)."""
    source = tmp_path_factory.mktemp("source")
    for name in BUILD_SOURCES:
        if name.endswith("/"):
            ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
            shutil.copytree(ROOT / name, source / name, ignore=ignore)
        else:
            shutil.copy2(ROOT / name, source / name)
    out = tmp_path_factory.mktemp("wheel")
    pip = [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q"]
    _run([*pip, "--wheel-dir", str(out), str(source)], cwd=out)
    (built,) = out.glob("lastword-*.whl")
    return built


def _install(wheel: Path, *where: str) -> None:
    """Install the wheel alone (its dependencies are this interpreter's) where told.

    `--ignore-installed`: else pip uninstalls the lastword this interpreter runs (the
    editable install) before installing under `--prefix`, and every later test that starts
    `python -m gateway` outside the checkout finds no gateway.
    """
    pip = [sys.executable, "-m", "pip", "install", "--no-deps", "--no-index", "-q"]
    pip.append("--ignore-installed")
    _run([*pip, *where, str(wheel)], cwd=wheel.parent)


def _env(site: Path) -> dict[str, str]:
    """This interpreter's environment (for the dependencies) with the install first on the path."""
    return {**os.environ, "PYTHONPATH": str(site)}


def _assert_runs_from(site: Path, bin_dir: Path, cwd: Path) -> None:
    """The installed copy, not the checkout, loads the shipped rules and reports its version."""
    probe = json.loads(_run([sys.executable, "-c", PROBE], cwd=cwd, env=_env(site)))
    assert Path(probe["package"]).is_relative_to(site)
    rules_dir = Path(probe["rules_dir"])
    assert rules_dir.is_relative_to(site)
    assert probe["rules"] == len(load_rules(ROOT / "rules").rules)
    assert probe["countries"] == len(load_directory(ROOT / "rules").countries)
    assert probe["version"] == probe["metadata_version"] == gateway.__version__
    shipped = sorted(p.name for p in rules_dir.iterdir())
    assert shipped == sorted(p.name for p in (ROOT / "rules").glob("*.yaml"))
    for name in shipped:
        assert (rules_dir / name).read_bytes() == (ROOT / "rules" / name).read_bytes(), name
    out = _run([str(bin_dir / "lastword"), "rules", "test"], cwd=cwd, env=_env(site))
    assert "examples proven" in out and "ok: crisis directory" in out
    # The shipped spellings name German's spelled-out letters, read back in the packs' words,
    # and the pictographs read as words.
    assert re.search(
        r"ok: spellings, \d+ in de,en,es,fr, [1-9]\d+ words read back .* and [1-9]\d* pictographs",
        out,
    )
    version = _run([str(bin_dir / "lastword"), "--version"], cwd=cwd, env=_env(site))
    assert version.strip() == f"lastword {gateway.__version__}"


def test_wheel_carries_the_rules_and_one_version(wheel: Path) -> None:
    """The wheel's name holds gateway.__version__; it holds every rules/*.yaml as package data."""
    assert wheel.name.startswith(f"lastword-{gateway.__version__}-")
    listing = _run([sys.executable, "-m", "zipfile", "-l", str(wheel)], cwd=wheel.parent)
    for path in (ROOT / "rules").glob("*.yaml"):
        assert f"gateway/rules/{path.name}" in listing
    assert "share/lastword" not in listing


def test_target_install_finds_its_rules(wheel: Path, tmp_path: Path) -> None:
    """`pip install --target DIR`: with DIR on PYTHONPATH the rules load and `rules test` passes."""
    target = tmp_path / "target"
    _install(wheel, "--target", str(target))
    _assert_runs_from(target, target / "bin", tmp_path)


def test_prefix_install_finds_its_rules(wheel: Path, tmp_path: Path) -> None:
    """`pip install --prefix DIR`: the rules come from DIR's site-packages, not sys.prefix."""
    prefix = tmp_path / "prefix"
    _install(wheel, "--prefix", str(prefix))
    site = Path(sysconfig.get_path("purelib", vars={"base": str(prefix)}))
    _assert_runs_from(site, prefix / "bin", tmp_path)


def test_installing_elsewhere_leaves_this_install_alone(wheel: Path, tmp_path: Path) -> None:
    """Installing the wheel under a prefix does not uninstall the lastword running here."""
    _install(wheel, "--prefix", str(tmp_path / "prefix"))
    probe = _run([sys.executable, "-c", "import gateway; print(gateway.__file__)"], cwd=tmp_path)
    assert Path(probe.strip()) == Path(gateway.__file__)
