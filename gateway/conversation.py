"""Canonical turns, path fingerprints and conversation ids.

Each dialect reduces its messages to `Turn`s of `Block`s. The reduction drops everything a
person would not call a different message (JSON layout, key order, a string versus a list
of one text block, Unicode normalization form, runs of whitespace, tool-call ids), so the
same history sent through either API gives the same turns and the same fingerprints.
"""

from __future__ import annotations

import hashlib
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, NamedTuple

import orjson

Role = Literal["user", "assistant"]
BlockKind = Literal["text", "tool_call", "tool_result", "image", "file"]

_CHAIN_SEED = b"lastword/path/v1"


# A conversation resends its whole history with every turn: earlier turns are reduced and
# hashed once, then found in these caches. Both are bounded (count, and text length for
# the first), so what they hold stays a few megabytes whatever the traffic.
_CACHE_ENTRIES = 8192
_CACHED_TEXT_CHARS = 4096
_normalized: dict[str, str] = {}
_text_blocks: dict[str, Block] = {}


def _remember(cache: dict[Any, Any], key: Any, value: Any) -> None:
    if len(cache) >= _CACHE_ENTRIES:
        # Drop the oldest entry (dicts keep insertion order): a cheap FIFO bound.
        del cache[next(iter(cache))]
    cache[key] = value


def normalize_text(text: str) -> str:
    """Reduce text to the form two people would agree is 'the same message'."""
    cached = _normalized.get(text)
    if cached is not None:
        return cached
    value = unicodedata.normalize("NFC", text) if not text.isascii() else text
    value = _single_spaced(value)
    if len(text) <= _CACHED_TEXT_CHARS and len(value) <= _CACHED_TEXT_CHARS:
        _remember(_normalized, text, value)
    return value


# Past this length, whitespace is collapsed with whole-string passes rather than split into
# words: a megabyte split into its 170,000 words holds the event loop about 15 ms.
_LONG_TEXT_CHARS = 16_384


def _single_spaced(text: str) -> str:
    """`text` with every run of Unicode whitespace one space, and none at the ends."""
    if len(text) <= _LONG_TEXT_CHARS:
        return " ".join(text.split())  # one pass: split() cuts on runs of whitespace
    for space in "\n\t\r":
        if space in text:
            text = text.replace(space, " ")
    if not text.isprintable():
        # Other whitespace (or control characters) left: the general way.
        return " ".join(text.split())
    # Printable text holds no whitespace but the space (every other is of a category
    # `isprintable` refuses): halving runs of spaces is a few memchr-speed passes.
    while "  " in text:
        text = text.replace("  ", " ")
    return text.strip(" ")


def canonical_json(value: Any) -> str:
    """Serialize a JSON value with sorted keys and no insignificant whitespace."""
    if isinstance(value, str):
        try:
            value = orjson.loads(value)
        except orjson.JSONDecodeError:
            return normalize_text(value)
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS).decode()


def content_hash(data: str | bytes) -> str:
    """A short stable hash naming binary content (images, files) without keeping it."""
    raw = data.encode() if isinstance(data, str) else data
    return hashlib.blake2b(raw, digest_size=16).hexdigest()


def media_hash(reference: str) -> str:
    """Hash an image or file given as base64, a `data:` URL or a URL.

    A `data:` URL hashes as its base64 payload, so the same image sent inline through
    either API (Anthropic base64 source, OpenAI data URL) gets the same hash.
    """
    if reference.startswith("data:"):
        _, _, reference = reference.partition(",")
    return content_hash(reference.replace("\n", "").strip())


# Blocks and turns are named tuples: a long history makes hundreds of them per request,
# and a tuple is several times cheaper to build than a frozen dataclass.
class Block(NamedTuple):
    """One piece of a turn: text, a tool call (name + canonical arguments), a result, media."""

    kind: BlockKind
    value: str


class Turn(NamedTuple):
    """One user-side message (a user message or a tool result), in dialect-independent form."""

    role: Role
    blocks: tuple[Block, ...]

    @property
    def text(self) -> str:
        """The turn's plain text (text blocks only), for detectors."""
        return " ".join(b.value for b in self.blocks if b.kind == "text")


def text_block(text: str) -> Block | None:
    """A normalized text block, or None for text that is only whitespace."""
    block = _text_blocks.get(text)
    if block is None:
        value = normalize_text(text)
        if not value:
            return None
        block = Block("text", value)
        if len(text) <= _CACHED_TEXT_CHARS:
            _remember(_text_blocks, text, block)
    return block


def tool_call_block(name: Any, arguments: Any) -> Block:
    """A tool call as name + canonical arguments; call ids differ by API and are dropped."""
    label = name if isinstance(name, str) else ""
    return Block("tool_call", f"{label}\x00{canonical_json(arguments)}")


def user_side(items: Iterable[tuple[Role, list[Block]]]) -> tuple[Turn, ...]:
    """The user-side turns of a history, one per message, in order.

    Assistant messages leave no mark: clients rewrite them in ordinary ways (a refusal
    re-sent empty, dropped, replayed as a reference) and may send any assistant text they
    like, so a path keyed on them would both lose strikes and open a way around a lock.
    Adjacent text blocks of one message read as one text.
    """
    return tuple(
        Turn("user", _join_text(blocks)) for role, blocks in items if role == "user" and blocks
    )


def _join_text(blocks: list[Block]) -> tuple[Block, ...]:
    out: list[Block] = []
    for block in blocks:
        if block.kind == "text" and out and out[-1].kind == "text":
            out[-1] = Block("text", f"{out[-1].value} {block.value}")
        else:
            out.append(block)
    return tuple(out)


def _head(tenant: str, end_user: str, system: str) -> bytes:
    head = hashlib.blake2b(_CHAIN_SEED, digest_size=16)
    for part in (tenant, end_user, normalize_text(system)):
        head.update(part.encode())
        head.update(b"\x00")
    return head.digest()


def _points(start: bytes, turns: Sequence[Turn]) -> list[str]:
    """One fingerprint after each turn, over the running stream of user-side blocks.

    Text that continues text across a message boundary is fed as its continuation, so a
    history whose messages were split or merged differently reaches the same fingerprint
    at its newest turn, and every boundary it has is a point of its own.
    """
    running = hashlib.blake2b(start, digest_size=16)
    out: list[str] = []
    previous = ""
    for turn in turns:
        for block in turn.blocks:
            if block.kind == "text" and previous == "text":
                running.update(b" ")
            else:
                running.update(b"\x1e" + block.kind.encode() + b"\x1f")
            _hash_text(running, block.value)
            previous = block.kind
        out.append(running.copy().hexdigest())
    return out


# A long text is hashed in slices of this many characters, each encoded on its own (the
# same bytes): blake2b lets go of the GIL while it hashes, encoding holds it, and a thread
# hashing a megabyte then leaves the loop free between slices.
_HASH_SLICE_CHARS = 65_536


def _hash_text(running: Any, text: str) -> None:
    if len(text) <= _HASH_SLICE_CHARS:
        running.update(text.encode())
        return
    for start in range(0, len(text), _HASH_SLICE_CHARS):
        running.update(text[start : start + _HASH_SLICE_CHARS].encode())


def path_fingerprints(
    tenant: str, system: str, turns: Sequence[Turn], end_user: str = ""
) -> list[str]:
    """The fingerprints of tenant, end user, system prompt and user-side turns: one per
    prefix. `result[i]` names the conversation up to and including `turns[i]`."""
    return _points(_head(tenant, end_user, system), turns)


def conversation_id(root_fingerprint: str) -> str:
    """`conv_` + a short encoding of the root (tenant, system prompt, first user turn)."""
    return "conv_" + root_fingerprint[:24]


ANONYMOUS = "anonymous"


def tenant_of(
    headers: Mapping[str, str], trusted_header: str | None = None, *, family: str = "anthropic"
) -> str:
    """A hash naming the client: the trusted auth header when configured, else the key the
    upstream authenticates it by.

    Anthropic reads `x-api-key` (recent SDKs send the same key as a bearer token: the same
    tenant); OpenAI reads only the bearer token, so a stray `x-api-key` there changes nothing.
    """
    value = headers.get(trusted_header) if trusted_header else None
    if not value and family == "anthropic":
        value = headers.get("x-api-key")
    if not value:
        auth = headers.get("authorization", "")
        scheme, _, token = auth.partition(" ")
        value = token.strip() if scheme.lower() == "bearer" else ""
    if not value:
        return ANONYMOUS
    return hashlib.blake2b(value.encode(), digest_size=12, person=b"lastword-tenant").hexdigest()


@dataclass(frozen=True, slots=True)
class Identity:
    """Where a request stands: its tenant, conversation, and the fingerprint of every
    user-side turn on its path (assistant turns leave no mark)."""

    tenant: str
    conversation_id: str
    path: tuple[str, ...]
    alias: str | None = None
    # How many leading fingerprints came from an earlier response (previous_response_id).
    inherited: int = 0

    @property
    def point(self) -> str | None:
        """The fingerprint at the newest user turn: the exact point the request is at."""
        return self.path[-1] if len(self.path) > self.inherited else None

    @property
    def root(self) -> str | None:
        """The fingerprint at the first user turn: the conversation's root."""
        return self.path[0] if self.path else None


def identify(
    tenant: str, system: str, turns: Sequence[Turn], alias: str | None, end_user: str = ""
) -> Identity:
    """The identity of a request with these user-side turns."""
    head = _head(tenant, end_user, system)
    path = _points(head, turns)
    # A request with no user turn yet is rooted at an empty first user turn.
    root = path[0] if path else _points(head, [Turn("user", ())])[0]
    return Identity(tenant, conversation_id(root), tuple(path), alias or None)


def continue_identity(
    tenant: str,
    conversation: str,
    inherited: Sequence[str],
    turns: Sequence[Turn],
    alias: str | None,
) -> Identity:
    """The identity of a request that continues an earlier response's path with `turns`.

    The answer it continues leaves no mark, as everywhere: the path goes on from the
    point the earlier request was at.
    """
    start = bytes.fromhex(inherited[-1]) if inherited else _CHAIN_SEED
    path = (*inherited, *_points(start, turns))
    return Identity(tenant, conversation, path, alias or None, inherited=len(inherited))
