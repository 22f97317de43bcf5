"""The optional external classifier: a second opinion on a user turn, over HTTP.

Labels become our categories only when they name the same harm; all others are ignored,
since a harmful match plus a model refusal is a strike.

`kind: moderation` (OpenAI-moderation-compatible), `POST {url}/v1/moderations`:
    sexual/minors               csam                harmful
    illicit/violent             terrorism_violence  harmful  (any weapon: not mass casualty)
    self-harm, self-harm/intent,
    self-harm/instructions      self_harm_suicide   crisis
    harassment/threatening,     harm_to_others      crisis   (a threat of serious harm
    hate/threatening                                          to a person or a group)
    ignored: violence, violence/graphic (depicting is not asking), harassment, hate,
    sexual, illicit (non-violent).

`kind: llama_guard` (behind chat completions), `POST {url}/v1/chat/completions`, answering
`safe`, or `unsafe` and a line of MLCommons hazard codes:
    S1  violent crimes              terrorism_violence     harmful
    S4  child sexual exploitation   csam                   harmful
    S9  indiscriminate weapons      weapons_mass_casualty  harmful
    S11 suicide and self-harm       self_harm_suicide      crisis
    ignored: S2 non-violent crimes, S3 sex-related crimes, S5 defamation, S6 specialized
    advice, S7 privacy, S8 intellectual property, S10 hate, S12 sexual content,
    S13 elections, S14 code interpreter abuse, and unknown codes.

`url` is a base URL (a trailing `/v1` is dropped). Answers, never failures, are cached by
turn fingerprint, and concurrent calls for one turn share one request.
"""

from __future__ import annotations

import asyncio
import re
from collections import OrderedDict
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, Literal

import aiohttp
import orjson
from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator

from gateway.detect.rules import Kind, Match
from gateway.errors import HTTPError
from gateway.logs import get_logger
from gateway.metrics import CLASSIFIER_CALLS

if TYPE_CHECKING:
    from gateway.detect import Flags

__all__ = ["Classifier", "ClassifierSettings", "ClassifierUnavailable", "ClassifierVerdict"]

log = get_logger("lastword.classifier")

MODERATION_MAP: dict[str, tuple[str, Kind]] = {
    "sexual/minors": ("csam", "harmful"),
    "illicit/violent": ("terrorism_violence", "harmful"),
    "self-harm": ("self_harm_suicide", "crisis"),
    "self-harm/intent": ("self_harm_suicide", "crisis"),
    "self-harm/instructions": ("self_harm_suicide", "crisis"),
    "harassment/threatening": ("harm_to_others", "crisis"),
    "hate/threatening": ("harm_to_others", "crisis"),
}
_HAZARD_CODE = re.compile(r"[Ss][0-9]{1,2}")
LLAMA_GUARD_MAP: dict[str, tuple[str, Kind]] = {
    "S1": ("terrorism_violence", "harmful"),
    "S4": ("csam", "harmful"),
    "S9": ("weapons_mass_casualty", "harmful"),
    "S11": ("self_harm_suicide", "crisis"),
}


class ClassifierSettings(BaseModel):
    """Where the classifier is, how it speaks, and what to do when it does not answer."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    url: str
    kind: Literal["moderation", "llama_guard"] = "moderation"
    model: str | None = None
    api_key: SecretStr | None = None
    timeout: float = Field(1.0, gt=0)
    fail_open: bool = True
    cache_size: int = Field(10_000, ge=0)

    @field_validator("url")
    @classmethod
    def _base_url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("must be an http:// or https:// URL")
        return value.rstrip("/").removesuffix("/v1")

    @model_validator(mode="after")
    def _model_for_llama_guard(self) -> ClassifierSettings:
        if self.kind == "llama_guard" and not self.model:
            raise ValueError("`model` is required when kind is llama_guard")
        return self


class ClassifierUnavailable(HTTPError):
    """The classifier failed or timed out and policy says to fail closed (503)."""

    status = 503
    error_type = "classifier_unavailable"


@dataclass(frozen=True, slots=True)
class ClassifierVerdict:
    """What the classifier found on one turn; `failed` means it gave no answer (fail open)."""

    matches: tuple[Match, ...] = ()
    failed: bool = False

    @property
    def categories(self) -> tuple[str, ...]:
        """Our categories found, each once."""
        return tuple(dict.fromkeys(m.category for m in self.matches))

    def merged(self, flags: Flags) -> Flags:
        """The detectors' flags with this verdict's matches added, by kind (a crisis match
        is a distress signal too)."""
        harmful = tuple(m for m in self.matches if m.kind == "harmful")
        crisis = tuple(m for m in self.matches if m.kind == "crisis")
        return replace(
            flags,
            harmful=(*flags.harmful, *harmful),
            crisis=(*flags.crisis, *crisis),
            distress=(*flags.distress, *crisis),
        )


def _matches(labels: list[str], table: dict[str, tuple[str, Kind]], kind: str) -> tuple[Match, ...]:
    found = dict.fromkeys(label for label in labels if label in table)
    return tuple(Match(f"classifier.{kind}.{label}", *table[label]) for label in found)


def parse_moderation(body: Any) -> tuple[Match, ...]:
    """Our matches from an OpenAI moderation answer; raises `ValueError`."""
    results = body.get("results") if isinstance(body, dict) else None
    if not isinstance(results, list) or not results:
        raise ValueError("moderation answer without `results`")
    labels: list[str] = []
    for result in results:
        categories = result.get("categories") if isinstance(result, dict) else None
        if not isinstance(categories, dict):
            raise ValueError("moderation result without `categories`")
        labels += [name for name, hit in categories.items() if hit is True]
    return _matches(labels, MODERATION_MAP, "moderation")


def parse_llama_guard(body: Any) -> tuple[Match, ...]:
    """Our matches from a Llama Guard chat completion; raises `ValueError`."""
    try:
        content = body["choices"][0]["message"]["content"]
    except (KeyError, IndexError, TypeError):
        raise ValueError("chat completion without a message") from None
    words = content.replace(",", " ").split() if isinstance(content, str) else []
    verdict, codes = (words[0].lower(), words[1:]) if words else ("", [])
    if verdict == "safe" and not codes:
        return ()
    valid = all(_HAZARD_CODE.fullmatch(code) for code in codes)
    if verdict != "unsafe" or not codes or not valid:
        raise ValueError("the answer is not a Llama Guard verdict")  # never log its text
    return _matches([c.upper() for c in codes], LLAMA_GUARD_MAP, "llama_guard")


class Classifier:
    """Client of one external classifier, with an LRU cache and a fail-open/closed policy."""

    def __init__(
        self, settings: ClassifierSettings, session: aiohttp.ClientSession | None = None
    ) -> None:
        self.settings = settings
        self._session = session
        self._owns_session = session is None
        self._cache: OrderedDict[str, ClassifierVerdict] = OrderedDict()
        self._inflight: dict[str, asyncio.Task[ClassifierVerdict]] = {}
        self._headers = {"Content-Type": "application/json"}
        if settings.api_key is not None:
            self._headers["Authorization"] = f"Bearer {settings.api_key.get_secret_value()}"
        moderation = settings.kind == "moderation"
        self._endpoint = f"{settings.url}/v1/{'moderations' if moderation else 'chat/completions'}"
        self._parse = parse_moderation if moderation else parse_llama_guard

    async def start(self) -> None:
        """Open the client's own session, unless one was passed in."""
        if self._session is None:
            self._session = aiohttp.ClientSession()

    async def close(self) -> None:
        """Cancel calls in flight and close the session if the client opened it."""
        for task in list(self._inflight.values()):
            task.cancel()
        await asyncio.gather(*self._inflight.values(), return_exceptions=True)
        if self._owns_session and self._session is not None:
            await self._session.close()
            self._session = None

    async def classify(self, text: str, fingerprint: str) -> ClassifierVerdict:
        """The verdict on one user turn; raises `ClassifierUnavailable` when failing closed."""
        cached = self._cache.get(fingerprint)
        if cached is not None:
            self._cache.move_to_end(fingerprint)
            CLASSIFIER_CALLS.labels("cached").inc()
            return cached
        task = self._inflight.get(fingerprint)
        if task is not None:
            CLASSIFIER_CALLS.labels("cached").inc()
        else:
            call = self._call(text, fingerprint)
            task = asyncio.create_task(call, name=f"classify-{fingerprint[:16]}")
            self._inflight[fingerprint] = task
            task.add_done_callback(lambda done: self._settle(fingerprint, done))
        # Shielded: a caller that gives up must not cancel the answer others are awaiting.
        return await asyncio.shield(task)

    def _settle(self, fingerprint: str, task: asyncio.Task[ClassifierVerdict]) -> None:
        self._inflight.pop(fingerprint, None)
        if not task.cancelled() and task.exception() is None:
            verdict = task.result()
            if not verdict.failed and self.settings.cache_size:
                self._cache[fingerprint] = verdict
                while len(self._cache) > self.settings.cache_size:
                    self._cache.popitem(last=False)

    async def _call(self, text: str, fingerprint: str) -> ClassifierVerdict:
        try:
            async with asyncio.timeout(self.settings.timeout):
                matches = await self._request(text)
        except TimeoutError as exc:
            return self._failure("timeout", exc, fingerprint)
        except (aiohttp.ClientError, ValueError) as exc:
            return self._failure("error", exc, fingerprint)
        CLASSIFIER_CALLS.labels("flagged" if matches else "ok").inc()
        return ClassifierVerdict(matches)

    async def _request(self, text: str) -> tuple[Match, ...]:
        if self._session is None:
            raise RuntimeError("Classifier.start() was not called and no session was given")
        payload: dict[str, Any] = {"input": text}
        if self.settings.kind == "llama_guard":
            payload = {"messages": [{"role": "user", "content": text}]}
        if self.settings.model:
            payload["model"] = self.settings.model
        async with self._session.post(
            self._endpoint, data=orjson.dumps(payload), headers=self._headers
        ) as response:
            response.raise_for_status()
            return self._parse(orjson.loads(await response.read()))

    def _failure(self, outcome: str, exc: BaseException, fingerprint: str) -> ClassifierVerdict:
        CLASSIFIER_CALLS.labels(outcome).inc()
        error = f"{type(exc).__name__}: {str(exc)[:200]}"
        log.warning("classifier_failed", outcome=outcome, error=error, fingerprint=fingerprint)
        if self.settings.fail_open:
            return ClassifierVerdict(failed=True)
        raise ClassifierUnavailable("the safety classifier is unavailable; try again") from exc
