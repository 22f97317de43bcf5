"""Patterns proven linear, remembered across processes, as Python remembers bytecode.

Proving the shipped packs' patterns (`linear.prove_linear`) takes over a second of every
gateway start, in every worker, and of every `lastword rules test`; reading the texts their
matches start with (`starts.starts`) most of another. Both are pure functions of the
pattern, its flags, the code that reads it and Python's own parser: a proof file named by
a digest of the last two holds the bounds of each proven pattern, and its start texts,
under a digest of the first two. It is read once a process, and written again (`keep`)
when patterns it lacked were read; a pattern it lacks is read as before, and a pattern
that is not linear is never remembered.

The file lives where Python keeps bytecode, in the package's `__pycache__` folder, or, where
that folder cannot be written, in the user's cache folder (`$XDG_CACHE_HOME/lastword`,
`~/.cache/lastword`); where neither can be written, every process proves its patterns.
Whoever can write these folders can change the gateway's code as well.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import os
import sys
import tempfile
from pathlib import Path
from typing import Final

import orjson

from gateway.detect import charsets, linear, starts

# The prover and the start reader: their code and the parser they read patterns with. A
# change to either names a new file.
_PROVER: Final = hashlib.sha256(
    b"".join(Path(module.__file__ or "").read_bytes() for module in (linear, charsets, starts))
    + sys.version.encode()
).hexdigest()[:16]
FILE_NAME: Final = f"linear-proofs-{_PROVER}.json"
_FIELDS: Final = tuple(field.name for field in dataclasses.fields(linear.Cost))

_read_once: dict[str, object] = {}
_new: dict[str, object] = {}


def folders() -> list[Path]:
    """Where the proof file may be, in the order tried."""
    cache_home = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return [Path(linear.__file__).parent / "__pycache__", Path(cache_home) / "lastword"]


def proven(pattern: str, flags: int) -> linear.Cost:
    """`linear.prove_linear(pattern, flags)`, read from the proof file when it holds it."""
    key = _key(pattern, flags)
    bounds = _remembered().get(key)
    if isinstance(bounds, list) and len(bounds) == len(_FIELDS):
        return linear.Cost(*(int(bound) for bound in bounds))
    cost = linear.prove_linear(pattern, flags)
    _new[key] = [getattr(cost, name) for name in _FIELDS]
    return cost


def known_starts(pattern: str, flags: int) -> starts.Starts | None:
    """`starts.starts(pattern, flags)`, read from the proof file when it holds it."""
    key = "starts:" + _key(pattern, flags)
    remembered = _remembered()
    if key in remembered:
        found = remembered[key]
        if found is None:
            return None
        if isinstance(found, list) and len(found) == 2 and isinstance(found[0], list):
            return starts.Starts(frozenset(str(text) for text in found[0]), bool(found[1]))
    read = starts.starts(pattern, flags)
    _new[key] = None if read is None else [sorted(read.texts), read.at_start]
    return read


def keep() -> None:
    """Write the proofs made since the file was read beside those it holds, if any."""
    if not _new:
        return
    known = {**_read(), **_new}
    _remembered().update(_new)
    _new.clear()
    data = orjson.dumps(known)
    for folder in folders():
        if _write(folder, data):
            return


def forget() -> None:
    """Read the file again at the next proof (tests: another process wrote it)."""
    _read_once.clear()
    _new.clear()


def _key(pattern: str, flags: int) -> str:
    return hashlib.sha256(f"{flags}:{pattern}".encode()).hexdigest()[:32]


def _remembered() -> dict[str, object]:
    if not _read_once:
        _read_once.update(_read() or {"": None})  # a mark that the file was read
    return _read_once


def _read() -> dict[str, object]:
    for folder in folders():
        try:
            known = orjson.loads((folder / FILE_NAME).read_bytes())
        except (OSError, orjson.JSONDecodeError):
            continue
        if isinstance(known, dict):
            return known
    return {}


def _write(folder: Path, data: bytes) -> bool:
    """Write `data` as the proof file in `folder`, whole or not at all; whether it was."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=folder, suffix=".tmp", delete=False) as out:
            out.write(data)
        os.chmod(out.name, 0o644)  # readable by every user, as bytecode is
    except OSError:
        return False
    try:
        os.replace(out.name, folder / FILE_NAME)
    except OSError:
        with contextlib.suppress(OSError):
            os.unlink(out.name)
        return False
    return True
