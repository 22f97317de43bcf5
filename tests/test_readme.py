"""The README's first command works exactly as written, from a fresh clone."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _commands() -> list[str]:
    blocks = re.findall(r"```sh\n(.*?)```", (ROOT / "README.md").read_text(), re.S)
    return [block.strip() for block in blocks[:2]]


def test_the_readme_opens_with_the_demo_and_the_test_commands() -> None:
    """The first two commands: install and run the demo; install and run the tests."""
    demo, tests = _commands()
    assert "lastword demo" in demo
    assert tests == "bash scripts/test.sh"
    ci = (ROOT / ".ci" / "run").read_text()
    assert "exec bash scripts/test.sh" in ci


def test_the_demo_command_succeeds_in_a_fresh_clone(tmp_path: Path) -> None:
    """A new clone, a new virtualenv, the README's command verbatim: exit 0, demo ok."""
    clone = tmp_path / "lastword"
    subprocess.run(["git", "clone", "-q", str(ROOT), str(clone)], check=True)
    demo, _ = _commands()
    done = subprocess.run(
        ["bash", "-c", demo], cwd=clone, capture_output=True, text=True, check=False, timeout=600
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "demo ok" in done.stdout
