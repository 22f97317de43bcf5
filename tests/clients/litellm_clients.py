"""Closing the HTTP clients LiteLLM caches, once the gateway they talk to is gone."""

from __future__ import annotations

import inspect
import sys


def close_cached_clients() -> None:
    """Close and forget LiteLLM's cached sync clients (nothing to do if it is not imported);
    left open, their sockets are reported unclosed at exit."""
    litellm = sys.modules.get("litellm")
    if litellm is None:
        return
    cache = litellm.in_memory_llm_clients_cache
    for client in list(cache.cache_dict.values()):
        close = getattr(client, "close", None)
        if close is not None and not inspect.iscoroutinefunction(close):
            close()
    cache.flush_cache()
