"""The judgement evaluation (bench/judgement.py) runs, and its numbers are computed, not set."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
LINE_KEYS = {"section", "slice", "value", "n", "unit", "goal", "meets"}


def _run(out: Path, *args: str) -> dict[str, Any]:
    """Run the evaluation as `python -m bench.judgement` on a small slice; its JSON result."""
    subprocess.run(
        [sys.executable, "-m", "bench.judgement", "--limit", "2", "--langs", "en,fr", "--out",
         str(out), *args],
        cwd=ROOT, check=True, capture_output=True, timeout=300,
    )  # fmt: skip
    [result] = out.glob("judgement-*.json")
    assert re.fullmatch(r"judgement-\d{4}-\d{2}-\d{2}\.json", result.name)
    assert result.with_suffix(".md").exists()
    data: dict[str, Any] = json.loads(result.read_text())
    return data


def _values(data: dict[str, Any], section: str) -> list[float | None]:
    return [line["value"] for line in data["lines"] if line["section"] == section]


@pytest.fixture(scope="module")
def everything(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """A run with the calibration judge that flags every message, through the gateway too."""
    return _run(tmp_path_factory.mktemp("everything"), "--judge", "everything")


def test_the_result_has_every_measure_with_its_goal(everything: dict[str, Any]) -> None:
    """Every line has its fields; the goals DESIGN.md sets are all there, each judged."""
    assert everything["judge"] == "everything"
    assert everything["commit"]
    assert everything["corpora"]["crisis"] == {"en": 2, "fr": 2}
    for line in everything["lines"]:
        assert set(line) == LINE_KEYS, line
        assert line["meets"] in (True, False, None)
        assert (line["goal"] is None) == (line["meets"] is None)
    goals = {(x["section"], x["slice"]) for x in everything["lines"] if x["goal"]}
    for expected in [
        ("crisis recall", "lang=en"),
        ("crisis false positives (look-alikes)", "lang=fr"),
        ("harmful recognised", "goal langs, category=csam"),
        ("tricks evade (of seeds caught plain)", "trick=spaced"),
        ("split requests evade (of those caught whole)", "goal langs"),
        ("crisis + harmful conversations ended", "all"),
        ("benign conversations ended", "all"),
        ("cost", "keyword-dense adversarial"),
    ]:
        assert expected in goals, expected
    assert everything["passed"] + everything["failed"] == len(goals)


def test_a_judge_that_flags_everything_reads_recall_one_and_false_positives_one(
    everything: dict[str, Any],
) -> None:
    """Flag everything: every recall and every false-positive rate is 1, nothing evades."""
    for section in [
        "crisis recall",
        "distress recall",
        "harmful recognised",
        "crisis false positives (look-alikes)",
        "harmful false positives (traps)",
    ]:
        assert _values(everything, section) and set(_values(everything, section)) == {1.0}
    assert set(_values(everything, "tricks evade (of seeds caught plain)")) == {0.0}
    assert set(_values(everything, "split requests evade (all)")) == {0.0}


def test_conversations_ran_through_the_gateway(everything: dict[str, Any]) -> None:
    """The conversations were played (rates in [0, 1] over real counts) and the rig can end
    a conversation at all."""
    played = [x for x in everything["lines"] if "conversations ended" in x["section"]]
    assert played and all(x["n"] > 0 and 0.0 <= x["value"] <= 1.0 for x in played)
    [check] = [x for x in everything["lines"] if x["section"] == "rig check"]
    assert check["value"] == 1.0
    stalls = [x for x in everything["lines"] if x["unit"] == "ms"]
    assert stalls and all(x["value"] >= 0.0 for x in stalls)


def test_a_judge_that_flags_nothing_reads_recall_zero(tmp_path: Path) -> None:
    """Flag nothing: recall and false positives are 0, and tricks have no seed to evade from."""
    data = _run(tmp_path, "--judge", "nothing", "--no-gateway")
    assert set(_values(data, "crisis recall")) == {0.0}
    assert set(_values(data, "crisis false positives (look-alikes)")) == {0.0}
    assert set(_values(data, "harmful recognised")) == {0.0}
    assert _values(data, "tricks evade (of seeds caught plain)") == [None]
    assert not [x for x in data["lines"] if "conversations" in x["section"]]
    md = next(tmp_path.glob("judgement-*.md")).read_text()
    assert "| crisis recall | lang=en | 0.0% | 2 | ≥ 85% | FAIL (n < 20) |" in md
