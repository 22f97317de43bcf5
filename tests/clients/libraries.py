"""Every library under test, how to run one of its scenarios, and what it cannot show."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any, Final

from tests.clients.drivers_frameworks import LangChain, LiteLLM
from tests.clients.drivers_sdk import AnthropicSdk, OpenAIChat, OpenAIResponses
from tests.clients.scenario import Result

NODE_DIR: Final = Path(__file__).resolve().parent / "node"

PYTHON: Final[dict[str, Callable[[str, str], Any]]] = {
    "anthropic-py": AnthropicSdk,
    "openai-py-chat": OpenAIChat,
    "openai-py-responses": OpenAIResponses,
    "langchain-anthropic": partial(LangChain, flavour="anthropic"),
    "langchain-openai-chat": partial(LangChain, flavour="chat"),
    "langchain-openai-responses": partial(LangChain, flavour="responses"),
    "litellm-openai": partial(LiteLLM, provider="openai"),
    "litellm-anthropic": partial(LiteLLM, provider="anthropic"),
}
NODE: Final = (
    "anthropic-node",
    "openai-node-chat",
    "openai-node-responses",
    "vercel-anthropic",
    "vercel-openai-responses",
    "vercel-openai-chat",
)
LIBRARIES: Final = (*PYTHON, *NODE)

# Where a library gives an app no way to read an in-band field, the app shows the text:
# these cells run with `visible_notice: true`, and the signal must be in the answer's text.
_LANGCHAIN_STREAM = "LangChain keeps no unknown field of a streamed event in its chunks"
TEXT_ONLY: Final[dict[tuple[str, str], str]] = {
    ("langchain-anthropic", "ending_streamed"): _LANGCHAIN_STREAM,
    ("langchain-openai-chat", "ending_streamed"): _LANGCHAIN_STREAM,
    ("langchain-openai-responses", "ending_streamed"): _LANGCHAIN_STREAM,
    ("langchain-openai-chat", "crisis"): "ChatOpenAI keeps no unknown top-level field",
    ("langchain-openai-responses", "crisis"): "ChatOpenAI keeps no unknown top-level field",
    ("litellm-anthropic", "ending_streamed"): "LiteLLM's Anthropic stream keeps no unknown field",
    ("litellm-anthropic", "crisis"): "LiteLLM's Anthropic response keeps no unknown field",
}


async def run_scenario(library: str, scenario: str, url: str, key: str) -> Result:
    """Run one scenario of one library against the gateway at `url`, as tenant `key`."""
    if library in PYTHON:
        driver = PYTHON[library](url, key)
        result: Result = await asyncio.to_thread(getattr(driver, scenario))
        return result
    return await run_node(library, scenario, url, key)


async def run_node(library: str, scenario: str, url: str, key: str) -> Result:
    """Run tests/clients/node/run.mjs; its last stdout line is the result as JSON."""
    node = shutil.which("node")
    assert node is not None, "Node.js is needed: scripts/test.sh installs it"
    assert (NODE_DIR / "node_modules").is_dir(), "run scripts/test.sh: it runs npm ci"
    env = {**os.environ, "LASTWORD_URL": url, "LASTWORD_KEY": key}
    proc = await asyncio.create_subprocess_exec(
        node,
        str(NODE_DIR / "run.mjs"),
        library,
        scenario,
        cwd=NODE_DIR,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), timeout=90)
    assert proc.returncode == 0, (out + err).decode()
    result: Result = json.loads(out.decode().strip().splitlines()[-1])
    return result
