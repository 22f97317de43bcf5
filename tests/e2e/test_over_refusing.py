"""An over-refusing model adds no false strikes: the benign corpus through the gateway."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from prometheus_client import REGISTRY

from tests.conftest import GatewayFactory
from tests.e2e.conversation_play import turn

CORPUS = Path(__file__).resolve().parent.parent / "detect" / "corpus_benign.txt"


def _strikes() -> float:
    return sum(
        sample.value
        for family in REGISTRY.collect()
        if family.name == "lastword_strikes"
        for sample in family.samples
        if sample.name == "lastword_strikes_total"
    )


async def test_benign_conversations_never_get_a_strike_from_the_rules(
    make_gateway: GatewayFactory,
) -> None:
    """Every benign prompt, refused by the model, in conversations of ten turns: the rule
    packs alone bring no strike and no ending."""
    gateway = await make_gateway(embedded_model={"enabled": False})
    prompts = _prompts()
    before = _strikes()
    for start in range(0, len(prompts), 10):
        history: list[dict[str, Any]] = []
        for prompt in prompts[start : start + 10]:
            status, _, headers = await turn(
                gateway, "chat", history, prompt, **{"x-sim-refuse-all": "1"}
            )
            assert (status, headers["X-Conversation-Status"]) == (200, "active"), prompt
    assert _strikes() == before


async def test_the_embedded_model_flags_at_most_one_benign_prompt_in_a_hundred(
    make_gateway: GatewayFactory,
) -> None:
    """With the embedded model on, each benign prompt alone in front of a model that refuses
    all: at most 1% earn a strike (the model's measured false-positive budget on harmful
    look-alikes is 0.3% per category; docs/model-card.md lists the known ones)."""
    gateway = await make_gateway(policy={"model_can_end": False})
    prompts = _prompts()
    before = _strikes()
    for prompt in prompts:
        status, _, _ = await turn(gateway, "chat", [], prompt, **{"x-sim-refuse-all": "1"})
        assert status == 200
    assert _strikes() - before <= len(prompts) / 100


def _prompts() -> list[str]:
    prompts = [line.split("\t", 1)[1] for line in CORPUS.read_text().splitlines() if "\t" in line]
    assert len(prompts) >= 200
    return prompts
