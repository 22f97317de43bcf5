"""Where the Redis store keeps what: key names, laid out for one server and for Redis Cluster.

Every key of one conversation carries the hash tag `{tenant:conversation id}`, so a
conversation lives in one slot (one primary) and each of its operations is one atomic script
there; conversations, and with them the load, spread over the primaries.
- `lastword:conv:{<tenant>:<conversation>}:` + `strikes`, `crisis`, `endings`, `unlocks`
  (sorted sets of record JSON scored by time), `standing` (hash fingerprint -> the ending
  standing there), `lifted` (hash ending JSON -> lift time), `alias`.
- `lastword:alias:<tenant>:<alias>` -> conversation id, and `lastword:response:<tenant>:<id>`
  -> one response link: single keys, read before any conversation is known, each in the
  slot of its own name.
- Audit indexes `lastword:index:{<n>}:` + `endings`, `endings:<tenant>` and
  `crisis:<tenant>` (one member per crisis turn), in BUCKETS buckets (hash tags `{0}` ..
  `{15}`, spread over the primaries); a conversation's records go to the bucket of its tag,
  written in a second step after the conversation's own. Listings read every bucket and
  merge.
- `lastword:schema`: the format mark.
"""

from __future__ import annotations

import zlib

PREFIX = "lastword:"
SCHEMA = f"{PREFIX}schema"
# Fixed: a record's bucket must be found again by every replica, release after release.
BUCKETS = 16

CONVERSATION_KINDS = ("strikes", "crisis", "endings", "unlocks", "standing", "lifted", "alias")


def conversation(tenant: str, conversation_id: str) -> str:
    """The prefix of a conversation's keys, its hash tag included."""
    return f"{PREFIX}conv:{{{tenant}:{conversation_id}}}:"


def bucket(tenant: str, conversation_id: str) -> int:
    """The audit-index bucket a conversation's endings and crisis turns are listed in."""
    return zlib.crc32(f"{tenant}:{conversation_id}".encode()) % BUCKETS


def index(number: int) -> str:
    """The prefix of one bucket's index keys, its hash tag included."""
    return f"{PREFIX}index:{{{number}}}:"


def endings(number: int, tenant: str | None) -> str:
    """A bucket's index of endings: every tenant's, or one tenant's."""
    return index(number) + ("endings" if tenant is None else f"endings:{tenant}")


def crisis_turns(number: int, tenant: str) -> str:
    """A bucket's index of one tenant's crisis turns."""
    return index(number) + f"crisis:{tenant}"


def alias(tenant: str, name: str) -> str:
    """The key holding the conversation id an alias names."""
    return f"{PREFIX}alias:{tenant}:{name}"


def response(tenant: str, response_id: str) -> str:
    """The key holding one response link."""
    return f"{PREFIX}response:{tenant}:{response_id}"
