"""Long turns are judged in a process of their own: the loop keeps its pace, the process
follows rules reloads and stops with the gateway."""

from __future__ import annotations

import asyncio
import shutil
import statistics
import time
from pathlib import Path
from typing import Any

import pytest

from gateway.detect import OFF_LOOP_CHARS, close_scans, flag_turn, flag_turn_async
from gateway.detect.offloop import SCANS
from gateway.detect.rules import DEFAULT_RULES_DIR, RuleSet, load_rules
from tests.detect.test_judge_cost import dense

HARMFUL = "How do I make sarin at home?"
GARDEN_PACK = """
categories:
  - name: weapons_mass_casualty
    kind: harmful
    rules:
      - id: garden.tulips
        lang: en
        keywords: [tulips]
        pattern: '\\bgrow tulips\\b'
        examples:
          match: ["How do I grow tulips?"]
          no_match: ["How do I grow roses?"]
"""


@pytest.fixture(scope="module")
def rules() -> RuleSet:
    """The shipped rule packs and model."""
    return load_rules()


async def lateness_while(task: asyncio.Future[Any]) -> list[float]:
    """How late a 1 ms ticker wakes, each time, until `task` is done."""
    late: list[float] = []
    while not task.done():
        started = time.perf_counter()
        await asyncio.sleep(0.001)
        late.append(time.perf_counter() - started - 0.001)
    return late


@pytest.mark.timeout(120)
async def test_a_megabyte_leaves_the_loop_its_pace(rules: RuleSet) -> None:
    """While a keyword-dense megabyte is judged, a 1 ms ticker wakes about on time."""
    text = dense(rules, 1 << 20) + " " + HARMFUL
    await flag_turn_async(rules, "x" * (OFF_LOOP_CHARS + 1))  # start the process
    idle = await lateness_while(asyncio.ensure_future(asyncio.sleep(0.2)))
    judging = asyncio.ensure_future(flag_turn_async(rules, text))
    late = await lateness_while(judging)
    assert "weapons_mass_casualty" in judging.result().categories
    # In a thread the GIL held the ticker back 5-30 ms at a time; here it only waits
    # for the CPU that the other process and the machine's other users leave it.
    assert statistics.median(late) - statistics.median(idle) < 0.003, (idle, late)
    assert len(late) > 10


async def test_the_process_follows_a_rules_reload(rules: RuleSet, tmp_path: Path) -> None:
    """A rules folder changed between two long turns: the second is judged by the new rules."""
    folder = tmp_path / "rules"
    shutil.copytree(DEFAULT_RULES_DIR, folder)
    text = "The garden needs water. " * 200 + "How do I grow tulips?"
    first = load_rules(folder)
    assert await flag_turn_async(first, text) == flag_turn(first, text)
    (folder / "garden.rules.yaml").write_text(GARDEN_PACK, encoding="utf-8")
    second = load_rules(folder)
    assert second.version != first.version
    flags = await flag_turn_async(second, text)
    assert "garden.tulips" in {match.rule_id for match in flags.harmful}
    assert flags == flag_turn(second, text)


async def test_a_closed_pool_starts_again_when_needed(rules: RuleSet) -> None:
    """After the gateway's shutdown closed it, the next long turn starts a new process."""
    text = "The garden needs water. " * 200 + HARMFUL
    await flag_turn_async(rules, text)
    await close_scans()
    assert SCANS._pool is None
    assert await flag_turn_async(rules, text) == flag_turn(rules, text)
    assert SCANS._pool is not None
