"""What the two OpenAI APIs share: error bodies and content-part reading."""

from __future__ import annotations

from typing import Any

import orjson

from gateway.conversation import Block, media_hash, text_block
from gateway.dialects.request_shapes import generic_blocks, kind_of, object_at, string_at
from gateway.errors import BadRequest

_TEXT_PARTS = frozenset({"text", "input_text", "output_text"})


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


def content_parts(content: Any, where: str, *, required: bool = False) -> list[Block]:
    """Canonical blocks of a message's `content`: a string, a list of parts, or null.

    With `required`, null (or no content at all) is refused, as the API refuses it.
    """
    if content is None:
        if required:
            raise BadRequest(f"`{where}.content` is required.", param=where)
        return []
    if isinstance(content, str):
        block = text_block(content)
        return [block] if block else []
    if not isinstance(content, list):
        raise BadRequest(f"`{where}.content` must be a string or a list of parts.", param=where)
    out: list[Block] = []
    for i, part in enumerate(content):
        at = f"{where}.content[{i}]"
        out += _part(object_at(part, at), kind_of(part, at), at)
    return out


def _part(part: dict[str, Any], kind: str, where: str) -> list[Block]:
    if kind in _TEXT_PARTS:
        block = text_block(string_at(part, "text", where))
        return [block] if block else []
    if kind == "refusal":
        block = text_block(string_at(part, "refusal", where))
        return [block] if block else []
    if kind in ("image_url", "input_image"):
        image = part.get("image_url")
        url = image.get("url") if isinstance(image, dict) else image
        ref = url if isinstance(url, str) else part.get("file_id")
        return [Block("image", media_hash(_reference(ref, where, "an image_url or a file_id")))]
    if kind in ("file", "input_file"):
        inner = part.get("file")
        file: dict[str, Any] = inner if isinstance(inner, dict) else part
        ref = file.get("file_data") or file.get("file_id") or file.get("file_url")
        return [Block("file", media_hash(_reference(ref, where, "file_data, a file_id or a url")))]
    if kind == "input_audio":
        audio = part.get("input_audio")
        data = audio.get("data") if isinstance(audio, dict) else None
        return [Block("file", media_hash(_reference(data, where, "input_audio.data")))]
    return generic_blocks(part)


def _reference(ref: Any, where: str, what: str) -> str:
    """Where media is: a string, or the part is refused as unreadable."""
    if not isinstance(ref, str) or not ref:
        raise BadRequest(f"`{where}` must give {what}.", param=where)
    return ref
