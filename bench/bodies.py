"""Realistic Anthropic Messages request bodies with a chosen length of history."""

from __future__ import annotations

import orjson

MODEL = "claude-sonnet-4-5"
SYSTEM = (
    "You are a concise assistant for a platform engineering team. Answer with concrete "
    "steps, name the trade-offs, and say when you are unsure."
)
_TOPICS = (
    "connection pool sizing",
    "blue-green deploys",
    "Postgres vacuum tuning",
    "Kafka consumer lag",
    "TLS certificate rotation",
    "rate limiting at the edge",
    "log retention costs",
)


def _user(i: int) -> str:
    topic = _TOPICS[i % len(_TOPICS)]
    return (
        f"Follow-up {i}: we are looking at {topic} for the billing service. Traffic is about "
        f"{120 + 7 * i} requests per second at peak. What would you change first, and why?"
    )


def _assistant(i: int) -> str:
    topic = _TOPICS[i % len(_TOPICS)]
    return (
        f"For {topic}, start by measuring before changing anything: record the p50 and p99 "
        f"over a normal week so that you have a baseline. At {120 + 7 * i} requests per "
        "second the first lever is usually configuration rather than hardware. Change one "
        "setting at a time, keep each change behind a flag you can turn off, and compare "
        "the same percentiles afterwards. If the numbers do not move, roll back and look at "
        "the next most likely cause instead of stacking changes."
    )


def messages(history: int) -> list[dict[str, str]]:
    """`history` earlier messages, user and assistant in turn, then the new user message.

    An odd `history` gets one more assistant message, so the roles keep alternating.
    """
    out = [
        {
            "role": "user" if i % 2 == 0 else "assistant",
            "content": (_user if i % 2 == 0 else _assistant)(i),
        }
        for i in range(history)
    ]
    if out and out[-1]["role"] == "user":
        out.append({"role": "assistant", "content": _assistant(history)})
    out.append({"role": "user", "content": _user(history + 1)})
    return out


def messages_body(history: int, *, stream: bool = False) -> bytes:
    """A `POST /v1/messages` body with `history` earlier messages."""
    body: dict[str, object] = {
        "model": MODEL,
        "max_tokens": 1024,
        "system": SYSTEM,
        "messages": messages(history),
    }
    if stream:
        body["stream"] = True
    return orjson.dumps(body)
