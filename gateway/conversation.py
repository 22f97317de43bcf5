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
_steps: dict[tuple[bytes, Turn], bytes] = {}


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
    # split() cuts on runs of Unicode whitespace and drops the ends: one pass, no regex.
    value = " ".join(value.split())
    if len(text) <= _CACHED_TEXT_CHARS and len(value) <= _CACHED_TEXT_CHARS:
        _remember(_normalized, text, value)
    return value


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
    """One speaker's contribution, in dialect-independent form.

    `partials` holds, for a user turn merged from several messages, the blocks of each
    leading run of those messages: where the conversation stood before the later ones
    were added (see `Identity.aside`).
    """

    role: Role
    blocks: tuple[Block, ...]
    partials: tuple[tuple[Block, ...], ...] = ()

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


def merge_turns(items: Iterable[tuple[Role, list[Block]]]) -> tuple[Turn, ...]:
    """Build turns, merging consecutive blocks of one role and adjacent text blocks.

    Both APIs accept consecutive messages of one role and read them as one turn, and a
    text split over two blocks reads as one text, so the canonical form merges them.
    """
    turns: list[tuple[Role, list[Block], list[int]]] = []
    for role, blocks in items:
        if not blocks:
            continue
        if turns and turns[-1][0] == role:
            turns[-1][1].extend(blocks)
            turns[-1][2].append(len(turns[-1][1]))
        else:
            turns.append((role, list(blocks), [len(blocks)]))
    return tuple(
        Turn(
            role,
            _join_text(blocks),
            tuple(_join_text(blocks[:end]) for end in ends[:-1]) if role == "user" else (),
        )
        for role, blocks, ends in turns
    )


def _join_text(blocks: list[Block]) -> tuple[Block, ...]:
    out: list[Block] = []
    for block in blocks:
        if block.kind == "text" and out and out[-1].kind == "text":
            out[-1] = Block("text", f"{out[-1].value} {block.value}")
        else:
            out.append(block)
    return tuple(out)


def _turn_bytes(turn: Turn) -> bytes:
    parts: list[str] = [turn.role]
    for block in turn.blocks:
        parts.append(block.kind)
        parts.append(block.value)
    return "\x1f".join(parts).encode()


def _head(tenant: str, system: str) -> bytes:
    head = hashlib.blake2b(_CHAIN_SEED, digest_size=16)
    head.update(tenant.encode())
    head.update(b"\x00")
    head.update(normalize_text(system).encode())
    return head.digest()


def path_fingerprints(tenant: str, system: str, turns: Sequence[Turn]) -> list[str]:
    """The hash chain over tenant, system prompt and turns: one fingerprint per prefix.

    `result[i]` names the conversation up to and including `turns[i]`.
    """
    return _chain(_head(tenant, system), turns)


def _aside(start: bytes, path: Sequence[str], turns: Sequence[Turn], offset: int = 0) -> list[str]:
    """The fingerprints of the partial user turns: a user turn merged from several messages
    also names each point its leading messages alone reached. A client that leaves out the
    answer between two of its messages (or sends it empty) merges them into one turn; the
    point of the first is still on its path, and so is whatever was recorded there."""
    out: list[str] = []
    for i, turn in enumerate(turns):
        if turn.partials:
            before = start if offset + i == 0 else bytes.fromhex(path[offset + i - 1])
            out.extend(_chain(before, [Turn("user", p)])[0] for p in turn.partials)
    return out


def _chain(state: bytes, turns: Sequence[Turn]) -> list[str]:
    out: list[str] = []
    for turn in turns:
        key = (state, turn)
        following = _steps.get(key)
        if following is None:
            data = _turn_bytes(turn)
            step = hashlib.blake2b(state, digest_size=16)
            step.update(data)
            following = step.digest()
            if len(data) <= _CACHED_TEXT_CHARS:
                _remember(_steps, key, following)
        state = following
        out.append(state.hex())
    return out


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
    """Where a request stands: its tenant, conversation, and the fingerprint of every turn."""

    tenant: str
    conversation_id: str
    path: tuple[str, ...]
    user_points: tuple[int, ...]
    alias: str | None = None
    # How many leading fingerprints came from an earlier response (previous_response_id).
    inherited: int = 0
    # Points off the path that it passes all the same (partial merged user turns).
    aside: tuple[str, ...] = ()

    @property
    def point(self) -> str | None:
        """The fingerprint at the newest user turn: the exact point the request is at."""
        return self.path[self.user_points[-1]] if self.user_points else None

    @property
    def root(self) -> str | None:
        """The fingerprint at the first user turn: the conversation's root."""
        if self.inherited:
            return self.path[0]
        return self.path[self.user_points[0]] if self.user_points else None

    def after_response(self, response_id: str) -> tuple[str, ...]:
        """The path once `response_id` answered this request: what a continuation inherits.

        The answer's own content is not replayed by a client that continues with its id, so
        the step is a hash of the id itself.
        """
        state = bytes.fromhex(self.path[-1]) if self.path else _CHAIN_SEED
        step = hashlib.blake2b(state, digest_size=16, person=b"lastword-resp")
        step.update(response_id.encode())
        return (*self.path, step.hexdigest())

    @property
    def through_point(self) -> tuple[str, ...]:
        """The fingerprints up to and including the newest user turn."""
        return self.path[: self.user_points[-1] + 1] if self.user_points else ()


def identify(tenant: str, system: str, turns: Sequence[Turn], alias: str | None) -> Identity:
    """The identity of a request with this history."""
    head = _head(tenant, system)
    path = _chain(head, turns)
    users = tuple(i for i, turn in enumerate(turns) if turn.role == "user")
    # A request with no user turn yet is rooted at an empty first user turn.
    root = path[users[0]] if users else _chain(head, [Turn("user", ())])[0]
    aside = tuple(_aside(head, path, turns))
    return Identity(tenant, conversation_id(root), tuple(path), users, alias or None, aside=aside)


def continue_identity(
    tenant: str,
    conversation: str,
    inherited: Sequence[str],
    turns: Sequence[Turn],
    alias: str | None,
) -> Identity:
    """The identity of a request that continues an earlier response's path with `turns`."""
    state = bytes.fromhex(inherited[-1]) if inherited else _CHAIN_SEED
    path = (*inherited, *_chain(state, turns))
    offset = len(inherited)
    users = tuple(offset + i for i, turn in enumerate(turns) if turn.role == "user")
    aside = tuple(_aside(state, path, turns, offset))
    return Identity(tenant, conversation, path, users, alias or None, inherited=offset, aside=aside)
