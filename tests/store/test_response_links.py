"""Response links, in the behaviour suite: every backend remembers where a response left off."""

from __future__ import annotations

import hashlib

import pytest

from gateway.store import ResponseLink, Retention, Store
from tests.store.store_helpers import START, FakeClock, MakeStore

T, OTHER = "tenant-a", "tenant-b"
C, C2 = "conv_main", "conv_other"
RESP, RESP2 = "resp_0001", "resp_0002"


def fingerprints(count: int, seed: str = "main") -> tuple[str, ...]:
    """`count` distinct hex fingerprints in no sorted order, as a real path has."""
    return tuple(hashlib.sha256(f"{seed}-{i}".encode()).hexdigest() for i in range(count))


PATH = fingerprints(4)


def link(
    response_id: str = RESP,
    at: float = START,
    path: tuple[str, ...] = PATH,
    tenant: str = T,
    conv: str = C,
) -> ResponseLink:
    return ResponseLink(tenant, response_id, conv, path, at)


async def test_link_round_trips_a_long_path_exactly(store: Store, clock: FakeClock) -> None:
    """A linked response reads back equal, its 300 fingerprints in their order."""
    path = fingerprints(300)
    assert sorted(path) != list(path)
    linked = link(path=path, at=clock())
    await store.link_response(linked)
    found = await store.linked_response(T, RESP)
    assert found == linked
    assert found is not None and found.path == path and isinstance(found.path, tuple)


async def test_links_are_kept_per_response(store: Store, clock: FakeClock) -> None:
    """Each response id has its own link; a short path and a one-turn path round-trip too."""
    first, second = link(RESP, clock(), fingerprints(1)), link(RESP2, clock(), fingerprints(2))
    await store.link_response(first)
    await store.link_response(second)
    assert await store.linked_response(T, RESP) == first
    assert await store.linked_response(T, RESP2) == second


async def test_unknown_response_is_none(store: Store, clock: FakeClock) -> None:
    """A response id never linked reads as None."""
    assert await store.linked_response(T, RESP) is None
    await store.link_response(link(at=clock()))
    assert await store.linked_response(T, "resp_unknown") is None
    assert await store.linked_response(T, "") is None


async def test_another_tenants_link_is_none(store: Store, clock: FakeClock) -> None:
    """A link is seen only by its tenant; the same id in two tenants is two links."""
    ours = link(at=clock())
    await store.link_response(ours)
    assert await store.linked_response(OTHER, RESP) is None
    theirs = link(at=clock(), path=fingerprints(3, "other"), tenant=OTHER, conv=C2)
    await store.link_response(theirs)
    assert await store.linked_response(T, RESP) == ours
    assert await store.linked_response(OTHER, RESP) == theirs


async def test_linking_an_id_again_overwrites(store: Store, clock: FakeClock) -> None:
    """Linking the same response id again replaces the link: conversation, path and time."""
    await store.link_response(link(at=clock(), path=fingerprints(5)))
    again = link(at=clock.advance(1), path=fingerprints(2, "branch"), conv=C2)
    await store.link_response(again)
    assert await store.linked_response(T, RESP) == again


async def test_links_expire_with_their_retention(make_store: MakeStore, clock: FakeClock) -> None:
    """A link past `Retention.responses` from its `at` reads as None; relinking revives it."""
    store = await make_store(Retention(responses=100))
    old = link(RESP, clock())
    await store.link_response(old)
    await store.link_response(link(RESP2, clock.advance(50)))
    clock.advance(49)
    assert await store.linked_response(T, RESP) == old
    clock.advance(1)
    assert await store.linked_response(T, RESP) is None
    assert await store.linked_response(T, RESP2) is not None
    clock.advance(50)
    assert await store.linked_response(T, RESP2) is None
    fresh = link(RESP, clock())
    await store.link_response(fresh)
    assert await store.linked_response(T, RESP) == fresh


async def test_links_default_to_thirty_days(store: Store, clock: FakeClock) -> None:
    """With default retention a link lasts 30 days."""
    await store.link_response(link(at=clock()))
    clock.advance(30 * 86_400 - 1)
    assert await store.linked_response(T, RESP) is not None
    clock.advance(1)
    assert await store.linked_response(T, RESP) is None


async def test_links_kept_forever_without_retention(
    make_store: MakeStore, clock: FakeClock
) -> None:
    """`Retention(responses=None)` keeps links however old."""
    store = await make_store(Retention(responses=None))
    kept = link(at=clock())
    await store.link_response(kept)
    clock.advance(10 * 365 * 86_400)
    assert await store.linked_response(T, RESP) == kept


@pytest.mark.parametrize("backend", ["sqlite", "redis"], indirect=True)
async def test_replicas_share_links(make_store: MakeStore, clock: FakeClock) -> None:
    """A link written through one store instance is read through another."""
    one, two = await make_store(), await make_store()
    linked = link(at=clock(), path=fingerprints(300))
    await one.link_response(linked)
    assert await two.linked_response(T, RESP) == linked
    moved = link(at=clock.advance(1), path=fingerprints(1))
    await two.link_response(moved)
    assert await one.linked_response(T, RESP) == moved
