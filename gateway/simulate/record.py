"""The requests the simulator received, kept for tests to inspect."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import Any

import orjson
from aiohttp import web
from multidict import CIMultiDict, CIMultiDictProxy


@dataclass(frozen=True)
class RecordedRequest:
    """One request as the simulator received it."""

    method: str
    path: str
    headers: CIMultiDictProxy[str]
    body: bytes

    def json(self) -> Any:
        """The body parsed as JSON; None when it is not JSON."""
        try:
            return orjson.loads(self.body)
        except orjson.JSONDecodeError:
            return None


class RequestLog:
    """The requests the simulator received, oldest first, the newest as ``last``."""

    def __init__(self, limit: int = 100) -> None:
        self._requests: deque[RecordedRequest] = deque(maxlen=limit)

    @property
    def last(self) -> RecordedRequest | None:
        """The newest request, or None before the first."""
        return self._requests[-1] if self._requests else None

    @property
    def requests(self) -> list[RecordedRequest]:
        """The recorded requests, at most ``limit`` of them."""
        return list(self._requests)

    def record(self, request: web.Request, body: bytes) -> None:
        """Keep a copy of ``request`` and its body."""
        headers = CIMultiDictProxy(CIMultiDict(request.headers))
        self._requests.append(RecordedRequest(request.method, request.path, headers, body))

    def clear(self) -> None:
        """Forget every recorded request."""
        self._requests.clear()
