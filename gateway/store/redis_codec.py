"""How the Redis store writes records as JSON and reads them back.

Sorted-set members are `[random id, record]`, so equal records stay distinct members; an
unlock is stored as `[lifted count, member]` (see the UNLOCK script). A response link is its
own key's value, the record alone.
"""

from __future__ import annotations

import os
from dataclasses import asdict, fields
from typing import Any

import orjson

from gateway.store.types import CrisisMark, Ending, ResponseLink, Strike, Unlock


def member(record: Strike | Ending | CrisisMark | Unlock) -> str:
    """Record JSON (lift state aside) plus a random id, so equal records stay distinct."""
    data = {f.name: getattr(record, f.name) for f in fields(record)}
    data.pop("lifted_at", None)
    data.pop("lifted", None)
    return orjson.dumps([os.urandom(8).hex(), data]).decode()


def turn_member(mark: CrisisMark) -> str:
    """A crisis mark's turn in the tenant's crisis-turn index: the same for each category."""
    return orjson.dumps([mark.conversation_id, mark.fingerprint, mark.at]).decode()


def _load(member: bytes) -> dict[str, Any]:
    data: dict[str, Any] = orjson.loads(member)[1]
    return data


def strike(member: bytes) -> Strike:
    """The Strike in a `strikes` member (members written before strikes kept a path: none)."""
    data = _load(member)
    data["path"] = tuple(data.get("path", ()))
    return Strike(**data)


def crisis(member: bytes) -> CrisisMark:
    """The CrisisMark in a `crisis` member (members written before levels: `crisis`)."""
    return CrisisMark(**_load(member))


def ending(member: bytes, lifted_at: bytes | None) -> Ending:
    """The Ending in an `endings` member, with the lift time found for it (if any)."""
    data = _load(member)
    data["categories"] = tuple(data["categories"])
    return Ending(**data, lifted_at=None if lifted_at is None else float(lifted_at))


def unlock(member: bytes) -> Unlock:
    """The Unlock in an `unlocks` member."""
    lifted, (_, data) = orjson.loads(member)
    return Unlock(**data, lifted=lifted)


def link_value(link: ResponseLink) -> bytes:
    """A response link's key value."""
    return orjson.dumps(asdict(link))


def link(value: bytes | str) -> ResponseLink:
    """The ResponseLink in a key value."""
    data = orjson.loads(value)
    data["path"] = tuple(data["path"])
    return ResponseLink(**data)
