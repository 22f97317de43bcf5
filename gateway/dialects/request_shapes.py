"""Shape checks the request parsers share, and the generic reader for unknown content.

A request the gateway cannot read whole is refused (400), never forwarded half-read:
content the gateway skipped would be content it never inspected. Content of a type it
does not know (the APIs add new ones) is read generically instead: every string in it.
"""

from __future__ import annotations

from typing import Any

from gateway.conversation import Block, text_block
from gateway.dialects.base import JSONObject
from gateway.errors import BadRequest

# Fields that name, sign or describe content rather than hold it: call ids differ by API
# and call, signatures and encrypted blobs are opaque, the rest are labels.
_NOT_CONTENT = frozenset(
    {
        "type",
        "id",
        "call_id",
        "tool_use_id",
        "tool_call_id",
        "approval_request_id",
        "signature",
        "encrypted_content",
        "cache_control",
        "media_type",
        "format",
        "detail",
        "status",
    }
)


def strings_in(value: Any) -> list[str]:
    """Every string inside a JSON value, in document order, labels and media left out.

    Iterative, so that however deep a client nests its JSON it costs no recursion.
    """
    out: list[str] = []
    stack: list[Any] = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            # Inline media (a data: URL) is content by hash elsewhere, not text.
            if not item.startswith("data:"):
                out.append(item)
        elif isinstance(item, dict):
            stack.extend(v for k, v in reversed(item.items()) if k not in _NOT_CONTENT)
        elif isinstance(item, list):
            stack.extend(reversed(item))
    return out


def generic_blocks(value: Any) -> list[Block]:
    """The text of content of an unknown type: every string in it, as one text block."""
    block = text_block(" ".join(strings_in(value)))
    return [block] if block else []


def object_at(value: Any, where: str) -> JSONObject:
    """`value`, which must be a JSON object."""
    if not isinstance(value, dict):
        raise BadRequest(f"`{where}` must be an object.", param=where)
    return value


def kind_of(item: JSONObject, where: str) -> str:
    """The `type` of a block, part or item, which must be a non-empty string."""
    kind = item.get("type")
    if not isinstance(kind, str) or not kind:
        raise BadRequest(f"`{where}.type` is required and must be a string.", param=where)
    return kind


def string_at(item: JSONObject, key: str, where: str) -> str:
    """A required string field of `item`."""
    value = item.get(key)
    if not isinstance(value, str):
        raise BadRequest(f"`{where}.{key}` is required and must be a string.", param=where)
    return value


def name_at(item: JSONObject, where: str) -> str:
    """The required, non-empty `name` of a tool or tool call."""
    value = item.get("name")
    if not isinstance(value, str) or not value:
        raise BadRequest(f"`{where}.name` is required and must be a string.", param=where)
    return value


def optional_list(body: JSONObject, key: str) -> list[Any]:
    """An optional list field (empty when absent or null)."""
    value = body.get(key)
    if value is None:
        return []
    if not isinstance(value, list):
        raise BadRequest(f"`{key}` must be a list.", param=key)
    return value


def optional_str(body: JSONObject, key: str) -> str | None:
    """An optional string field."""
    value = body.get(key)
    if value is not None and not isinstance(value, str):
        raise BadRequest(f"`{key}` must be a string.", param=key)
    return value


def tool_objects(body: JSONObject) -> list[JSONObject]:
    """The request's `tools`: a list of objects, or none."""
    tools = optional_list(body, "tools")
    return [object_at(tool, f"tools[{i}]") for i, tool in enumerate(tools)]
