"""Each client library app developers use, driven through the gateway, behaviour by behaviour.

One test per library and behaviour, so the report is the table of what each library
shows: plain, streamed, a tool round trip, the ending (where an app reads the signal),
exactly one request on an ended thread with the library's default retries, and crisis
resources.
"""

from __future__ import annotations

import secrets
from typing import Any

import pytest

from gateway.notice import WORDS
from tests.clients.conftest import CountedGateway, start_simulated
from tests.clients.libraries import LIBRARIES, TEXT_ONLY, run_scenario
from tests.clients.scenario import SCENARIOS, Result

# LiteLLM's own code warns (pydantic adapters for its TypedDicts, deprecated pydantic
# attribute access); the suite turns warnings into errors, which would break LiteLLM.
pytestmark = [
    pytest.mark.filterwarnings("ignore:.*`ReadOnly` qualifier:UserWarning"),
    pytest.mark.filterwarnings("ignore::pydantic.warnings.PydanticDeprecatedSince211"),
]

ENDING_TURNS = 4  # a greeting and three refused harmful requests


def _cells(text_only: bool) -> list[Any]:
    return [
        pytest.param(library, scenario, id=f"{library}:{scenario}")
        for library in LIBRARIES
        for scenario in SCENARIOS
        if ((library, scenario) in TEXT_ONLY) == text_only
    ]


# How these libraries rewrite the assistant's turns when they send a history back (the
# issue's cases): the ending must hold all the same. Checked on the request that ends it.
REWRITES = {
    "openai-py-chat": b'"content":""',
    "openai-node-chat": b'"content":""',
    "langchain-openai-chat": b'"content":""',
    "litellm-openai": b'"content":""',
    "vercel-openai-responses": b'"type":"item_reference"',
}


def check(scenario: str, result: Result, statuses: list[int]) -> None:
    """What an app must be able to read from one scenario, and what reached the gateway."""
    assert not result.get("errors"), f"the library reported stream errors: {result['errors']}"
    if scenario in ("plain", "streamed"):
        assert result["text"], result
        assert statuses == [200]
        if scenario == "streamed":
            assert result["deltas"] >= 2, result
    elif scenario == "tool":
        name, arguments = result["call"]
        assert (name, sorted(arguments)) == ("get_weather", ["city"])
        assert result["text"], "no answer after the tool result"
        assert statuses == [200, 200]
    elif scenario in ("ending", "ending_streamed"):
        signal = result["signal"]
        assert signal is not None, f"no end signal where the app reads it ({result['via']})"
        assert signal["status"] == "ended"
        assert signal["id"].startswith("conv_")
        assert result.get("conversation") is None, "OpenAI's own conversation field was written"
        assert statuses == [200] * ENDING_TURNS
    elif scenario == "ended_thread":
        assert (result["status"], result["ended"]) == (410, True), result
        assert result["id"].startswith("conv_")
        assert statuses == [200] * ENDING_TURNS + [410], "a terminal answer was retried"
        assert result.get("retryable") in (None, False), "the library calls a 410 retryable"
    else:
        resources = result["resources"]
        assert resources is not None, f"no helplines where the app reads them ({result['via']})"
        assert resources["country"] == "GB"
        assert resources["lines"]
        if "streamed_resources" in result:  # the Vercel AI SDK streams it as well
            assert result["streamed_resources"]["country"] == "GB"
            assert statuses == [200, 200]
        else:
            assert statuses == [200]


@pytest.mark.parametrize(("library", "scenario"), _cells(text_only=False))
async def test_library(library: str, scenario: str, counted: CountedGateway) -> None:
    """The library does the scenario through the gateway, and the app can read the result."""
    key = f"sk-clients-{secrets.token_hex(8)}"
    result = await run_scenario(library, scenario, counted.url, key)
    check(scenario, result, counted.log.statuses)
    if scenario.startswith("end") and library in REWRITES:
        assert REWRITES[library] in counted.log.bodies[ENDING_TURNS - 1]


@pytest.mark.parametrize(("library", "scenario"), _cells(text_only=True))
async def test_library_that_shows_only_text(
    library: str, scenario: str, aiohttp_server: Any
) -> None:
    """Where the library drops the gateway's fields, `visible_notice` puts the signal in
    the text the app shows: the helplines on the crisis turn, the ending on the last."""
    counted = await start_simulated(aiohttp_server, visible_notice=True)
    key = f"sk-clients-{secrets.token_hex(8)}"
    result = await run_scenario(library, scenario, counted.url, key)
    assert not result.get("errors"), result
    if scenario == "crisis":
        assert "116 123" in result["text"]  # Samaritans, for Accept-Language en-GB
        assert WORDS["en"].more in result["text"]
        assert counted.log.statuses == [200]
    else:
        assert result["text"].rstrip().endswith(WORDS["en"].ended), result["text"]
        assert counted.log.statuses == [200] * ENDING_TURNS
