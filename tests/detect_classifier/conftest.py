"""A scripted classifier upstream, in-process, speaking moderation and chat completions."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from prometheus_client import REGISTRY

from gateway.detect.classifier import Classifier, ClassifierSettings

MakeClassifier = Callable[..., Classifier]


@dataclass
class Seen:
    """One request the upstream received."""

    path: str
    headers: dict[str, str]
    body: Any


@dataclass
class Script:
    """What the upstream answers next, how slowly, and every request it received."""

    answer: Any = None
    status: int = 200
    delay: float = 0.0
    seen: list[Seen] = field(default_factory=list)
    release: asyncio.Event = field(default_factory=asyncio.Event)

    async def handle(self, request: web.Request) -> web.StreamResponse:
        """Record the request, wait if told to, then answer as scripted."""
        self.seen.append(Seen(request.path, dict(request.headers), await request.json()))
        if self.delay:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.release.wait(), self.delay)
        if isinstance(self.answer, bytes):
            return web.Response(body=self.answer, status=self.status)
        return web.json_response(self.answer, status=self.status)


def moderation(*flagged: str) -> dict[str, Any]:
    """A moderation answer with exactly the `flagged` categories true."""
    names = ("sexual", "sexual/minors", "self-harm", "violence", "illicit/violent", *flagged)
    categories = {name: name in flagged for name in names}
    scores = {name: 0.9 if hit else 0.01 for name, hit in categories.items()}
    result = {"flagged": bool(flagged), "categories": categories, "category_scores": scores}
    return {"id": "modr-1", "model": "omni-moderation-latest", "results": [result]}


def chat(content: Any) -> dict[str, Any]:
    """A chat completion whose one message says `content`."""
    message = {"role": "assistant", "content": content}
    return {"id": "chatcmpl-1", "object": "chat.completion", "choices": [{"message": message}]}


def calls(outcome: str) -> float:
    """How many classifier calls have been counted with `outcome` so far."""
    value = REGISTRY.get_sample_value("lastword_classifier_requests_total", {"outcome": outcome})
    return value or 0.0


@pytest.fixture
def script() -> Script:
    """The upstream's script: an unflagged moderation answer unless a test says otherwise."""
    return Script(answer=moderation())


@pytest.fixture
async def upstream(aiohttp_server: Any, script: Script) -> AsyncIterator[TestServer]:
    """The classifier upstream, answering both endpoints from `script`."""
    app = web.Application()
    app.router.add_post("/v1/moderations", script.handle)
    app.router.add_post("/v1/chat/completions", script.handle)
    server: TestServer = await aiohttp_server(app)
    yield server
    script.release.set()  # let slow answers finish before the server shuts down


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    """A client session shared by the test's classifiers, closed after the test."""
    async with aiohttp.ClientSession() as session:
        yield session


@pytest.fixture
def make_classifier(upstream: TestServer, session: aiohttp.ClientSession) -> MakeClassifier:
    """Build a classifier of the upstream on the shared session, settings by keyword."""

    def make(**overrides: Any) -> Classifier:
        values: dict[str, Any] = {"url": str(upstream.make_url("/")), "timeout": 2.0}
        values.update(overrides)
        return Classifier(ClassifierSettings(**values), session)

    return make
