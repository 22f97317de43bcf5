"""A simulated LLM upstream speaking the Anthropic Messages, OpenAI Chat Completions and
OpenAI Responses wire formats, streaming included, for tests, demos and benchmarks.

It answers benign turns briefly and plausibly in the user's language (a person who may be
at risk with care and a pointer to help), refuses clearly harmful requests, can call the
``end_conversation`` tool, and takes per-request ``x-sim-*`` headers that inject errors,
hangs and broken streams.
"""

from __future__ import annotations

from gateway.simulate.app import LAST_REQUEST, create_simulator_app, run_simulator
from gateway.simulate.behaviour import END_TOOL, Conversation, Reply, decide
from gateway.simulate.record import RecordedRequest, RequestLog
from gateway.simulate.settings import RequestOptions, SimulatorSettings

__all__ = [
    "END_TOOL",
    "LAST_REQUEST",
    "Conversation",
    "RecordedRequest",
    "Reply",
    "RequestLog",
    "RequestOptions",
    "SimulatorSettings",
    "create_simulator_app",
    "decide",
    "run_simulator",
]
