"""The records of conversation state: strikes, endings, crisis marks, unlocks, links, and the
state of a path or a conversation built from them.

Plain frozen values, shared by the policy that decides on them and the stores that keep them.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

EndReason = Literal["strikes", "model", "admin"]
# How sure a crisis signal is. `crisis`: confident (helplines and care guidance); `distress`:
# recall-first, a wide net (it only holds endings off the path).
CrisisLevel = Literal["crisis", "distress"]
CRISIS_LEVELS: tuple[CrisisLevel, ...] = ("crisis", "distress")
# The fingerprint of an ending that stands on every path of its conversation (an admin's).
# Path reads that should see such endings include it among the fingerprints they ask for.
WHOLE_CONVERSATION = "*"


@dataclass(frozen=True, slots=True)
class Strike:
    """A user turn flagged as harmful and refused by the model, recorded at one fingerprint.

    `path` holds the fingerprints of the points the struck one is reached through (its
    user-side turns, inherited ones included), root first, the struck point last: it
    lets a later strike on a shallower point find the deeper paths it brings to the
    threshold. Empty on strikes recorded without it.
    """

    tenant: str
    conversation_id: str
    fingerprint: str
    category: str
    source: str
    at: float
    path: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Ending:
    """A conversation path ended at `fingerprint`; standing until lifted or expired."""

    tenant: str
    conversation_id: str
    fingerprint: str
    reason: str
    categories: tuple[str, ...]
    at: float
    lifted_at: float | None = None


@dataclass(frozen=True, slots=True)
class CrisisMark:
    """A crisis signal seen at one fingerprint; while it stands, no automatic ending happens.

    `level` says how sure the signal was: `crisis` (helplines, care guidance) or `distress`
    (endings held off, nothing more). Marks written before levels existed read as `crisis`.
    """

    tenant: str
    conversation_id: str
    fingerprint: str
    category: str
    at: float
    level: CrisisLevel = "crisis"


@dataclass(frozen=True, slots=True)
class Unlock:
    """An admin lifting a conversation's endings on appeal; `lifted` counts the endings lifted."""

    tenant: str
    conversation_id: str
    actor: str
    note: str
    at: float
    lifted: int = 0


@dataclass(frozen=True, slots=True)
class ResponseLink:
    """Where a relayed response left its conversation, so a request naming it continues there.

    `path` is the conversation's fingerprints, root first, up to and including the response.
    """

    tenant: str
    response_id: str
    conversation_id: str
    path: tuple[str, ...]
    at: float


@dataclass(frozen=True, slots=True)
class PathState:
    """What stands on a path: unforgiven strikes, the first standing ending, crisis marks."""

    strikes: tuple[Strike, ...] = ()
    ending: Ending | None = None
    crisis: tuple[CrisisMark, ...] = ()


@dataclass(frozen=True, slots=True)
class ConversationState:
    """What stands in a whole conversation at one moment: unforgiven strikes (with their
    paths), standing endings and crisis marks, every one within retention."""

    strikes: tuple[Strike, ...] = ()
    endings: tuple[Ending, ...] = ()
    crisis: tuple[CrisisMark, ...] = ()

    def on(self, path: Sequence[str]) -> PathState:
        """The state of `path`: the records on its fingerprints, its first standing ending."""
        on_path = set(path)
        return PathState(
            strikes=tuple(s for s in self.strikes if s.fingerprint in on_path),
            ending=first_ending((e for e in self.endings if e.fingerprint in on_path), path),
            crisis=tuple(c for c in self.crisis if c.fingerprint in on_path),
        )


@dataclass(frozen=True, slots=True)
class ConversationRecord:
    """Everything retained for one conversation, forgiven strikes and lifted endings included."""

    tenant: str
    conversation_id: str
    alias: str | None
    strikes: tuple[Strike, ...]
    endings: tuple[Ending, ...]
    unlocks: tuple[Unlock, ...]
    crisis: tuple[CrisisMark, ...]


@dataclass(frozen=True, slots=True)
class Activity:
    """A tenant's endings (lifted ones included) and crisis turns counted per interval:
    `endings[i]` and `crisis[i]` hold those with `edges[i] <= at < edges[i + 1]`.

    A crisis turn is one turn's crisis marks (one per category matched) counted once.
    """

    edges: tuple[float, ...]
    endings: tuple[int, ...]
    crisis: tuple[int, ...]


def first_ending(endings: Iterable[Ending], fingerprints: Sequence[str]) -> Ending | None:
    """The ending whose fingerprint comes first in `fingerprints`, or None."""
    by_fingerprint = {e.fingerprint: e for e in endings}
    if not by_fingerprint:
        return None
    for fingerprint in fingerprints:
        if fingerprint in by_fingerprint:
            return by_fingerprint[fingerprint]
    return None
