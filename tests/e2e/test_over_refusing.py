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


async def test_benign_conversations_never_get_a_strike_from_a_model_that_refuses_all(
    make_gateway: GatewayFactory,
) -> None:
    """Every benign prompt, refused by the model, in conversations of ten turns: no strike,
    no ending."""
    gateway = await make_gateway()
    prompts = [line.split("\t", 1)[1] for line in CORPUS.read_text().splitlines() if "\t" in line]
    assert len(prompts) >= 200
    before = _strikes()
    for start in range(0, len(prompts), 10):
        history: list[dict[str, Any]] = []
        for prompt in prompts[start : start + 10]:
            status, _, headers = await turn(
                gateway, "chat", history, prompt, **{"x-sim-refuse-all": "1"}
            )
            assert (status, headers["X-Conversation-Status"]) == (200, "active"), prompt
    assert _strikes() == before
