"""What the two OpenAI APIs share: error bodies and content-part reading."""

from __future__ import annotations

from typing import Any

import orjson

from gateway.conversation import Block, media_hash, text_block
from gateway.errors import BadRequest

_TEXT_PARTS = frozenset({"text", "input_text", "output_text", "refusal"})


def error_object(status: int, error_type: str, message: str, param: str | None) -> dict[str, Any]:
    """`{"error":{"message","type","param","code"}}` as OpenAI's APIs send it."""
    if error_type == "invalid_request_error":
        kind, code = error_type, None
    elif status < 500 and error_type != "conversation_ended":
        kind, code = "invalid_request_error", error_type
    elif error_type == "conversation_ended":
        kind, code = error_type, error_type
    else:
        kind, code = "server_error", error_type
    return {"error": {"message": message, "type": kind, "param": param, "code": code}}


def error_body(status: int, error_type: str, message: str, param: str | None) -> bytes:
    """The serialized `error_object`."""
    return orjson.dumps(error_object(status, error_type, message, param))


def content_parts(content: Any, where: str) -> list[Block]:
    """Canonical blocks of a message's `content`: a string, a list of parts, or null."""
    if content is None:
        return []
    if isinstance(content, str):
        block = text_block(content)
        return [block] if block else []
    if not isinstance(content, list):
        raise BadRequest(f"`{where}.content` must be a string or a list of parts.", param=where)
    out: list[Block] = []
    for i, part in enumerate(content):
        if not isinstance(part, dict):
            raise BadRequest(f"`{where}.content[{i}]` must be an object.", param=where)
        block = _part(part)
        if block is not None:
            out.append(block)
    return out


def _part(part: dict[str, Any]) -> Block | None:
    kind = part.get("type")
    if kind in _TEXT_PARTS:
        value = part.get("text", part.get("refusal"))
        return text_block(value) if isinstance(value, str) else None
    if kind in ("image_url", "input_image"):
        image = part.get("image_url")
        url = image.get("url") if isinstance(image, dict) else image
        ref = url if isinstance(url, str) else part.get("file_id")
        return Block("image", media_hash(ref)) if isinstance(ref, str) else None
    if kind in ("file", "input_file"):
        inner = part.get("file")
        file: dict[str, Any] = inner if isinstance(inner, dict) else part
        ref = file.get("file_data") or file.get("file_id") or file.get("file_url")
        return Block("file", media_hash(ref)) if isinstance(ref, str) else None
    return None
