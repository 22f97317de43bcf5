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


_SERVICES = ("billing", "search", "checkout", "notifications", "auth", "reporting", "media")
_ASKS = (
    "What would you change first, and why?",
    "Which metric should we watch before touching anything?",
    "Is there a quick win, or is this a redesign?",
    "How would you roll that out without downtime?",
    "What would you try if the first change does not help?",
    "Can you sketch a plan for the next two weeks?",
    "Which of these is the riskiest to get wrong?",
    "What would a senior engineer check that we might miss?",
)


def _user(i: int, variant: int = 0) -> str:
    topic = _TOPICS[(i + variant) % len(_TOPICS)]
    service = _SERVICES[(i + variant // len(_TOPICS)) % len(_SERVICES)]
    ask = _ASKS[(i + variant) % len(_ASKS)]
    return (
        f"Follow-up {i}: we are looking at {topic} for the {service} service. Traffic is "
        f"about {120 + 7 * i + 13 * variant} requests per second at peak. {ask}"
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


def messages(history: int, variant: int = 0) -> list[dict[str, str]]:
    """`history` earlier messages, user and assistant in turn, then the new user message
    (one of many, by `variant`).

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
    out.append({"role": "user", "content": _user(history + 1, variant)})
    return out


def messages_body(history: int, *, stream: bool = False, variant: int = 0) -> bytes:
    """A `POST /v1/messages` body with `history` earlier messages."""
    body: dict[str, object] = {
        "model": MODEL,
        "max_tokens": 1024,
        "system": SYSTEM,
        "messages": messages(history, variant),
    }
    if stream:
        body["stream"] = True
    return orjson.dumps(body)


# Bodies that wrk sends in turn: the same history, each with its own newest user turn, as a
# conversation's requests are. More of them than the gateway's caches of texts hold
# (`conversation._CACHE_ENTRIES`, `folding.CACHED_TEXTS`): sent in a cycle, every request
# brings a turn the gateway no longer remembers, as in use, and no cache flatters a figure.
VARIANTS = 10_000


def body_lines(history: int, variants: int = VARIANTS) -> bytes:
    """`variants` bodies with `history` earlier messages, one a line (for `post.lua`)."""
    return b"\n".join(messages_body(history, variant=v) for v in range(variants)) + b"\n"
