"""`Store.activity`: a tenant's endings and crisis turns counted per interval, every backend."""

from __future__ import annotations

from gateway.store import Activity, CrisisMark, Ending, Retention, Store, Unlock
from tests.store.store_helpers import START, FakeClock, MakeStore

T, OTHER = "tenant-a", "tenant-b"
HOUR = 3600.0
EDGES = (START, START + HOUR, START + 2 * HOUR, START + 3 * HOUR)


def ending(conv: str, at: float, tenant: str = T, fingerprint: str = "fp-1") -> Ending:
    return Ending(tenant, conv, fingerprint, "strikes", ("violence",), at)


def mark(conv: str, at: float, category: str = "self_harm", tenant: str = T) -> CrisisMark:
    return CrisisMark(tenant, conv, "fp-1", category, at)


async def test_counts_fall_in_half_open_intervals(store: Store, clock: FakeClock) -> None:
    """Each record counts in the interval `lo <= at < hi` holding it, none outside the edges."""
    for conv, at in (("c1", START), ("c2", START + HOUR - 1), ("c3", START + HOUR)):
        await store.end(ending(conv, at))
    await store.end(ending("c4", START + 3 * HOUR))  # on the last edge: outside
    await store.end(ending("c5", START - 1))  # before the first edge
    await store.mark_crisis(mark("c1", START + 2 * HOUR))
    await store.mark_crisis(mark("c2", START + 2 * HOUR + 5))
    clock.advance(4 * HOUR)

    found = await store.activity(T, EDGES)

    assert found == Activity(EDGES, (2, 1, 0), (0, 0, 2))


async def test_lifted_endings_count_and_other_tenants_do_not(
    store: Store, clock: FakeClock
) -> None:
    """An ending lifted on appeal still counts where it happened; another tenant's never do."""
    await store.end(ending("c1", START + 10))
    await store.unlock(Unlock(T, "c1", "reviewer", "appeal granted", START + 20))
    await store.end(ending("c1", START + 30, tenant=OTHER))
    await store.mark_crisis(mark("c1", START + 40, tenant=OTHER))
    clock.advance(HOUR)

    assert await store.activity(T, EDGES) == Activity(EDGES, (1, 0, 0), (0, 0, 0))
    assert await store.activity(OTHER, EDGES) == Activity(EDGES, (1, 0, 0), (1, 0, 0))


async def test_a_turn_in_several_crisis_categories_counts_once(
    store: Store, clock: FakeClock
) -> None:
    """A turn marked for two crisis categories is one crisis turn; a later turn is another."""
    await store.mark_crisis(mark("c1", START + 5, "self_harm"))
    await store.mark_crisis(mark("c1", START + 5, "harm_to_others"))
    await store.mark_crisis(mark("c1", START + 9, "self_harm"))
    clock.advance(HOUR)

    assert (await store.activity(T, EDGES)).crisis == (2, 0, 0)


async def test_records_past_retention_are_not_counted(
    make_store: MakeStore, clock: FakeClock
) -> None:
    """Crisis marks and endings past their retention drop out of the counts."""
    store = await make_store(Retention(endings=2 * HOUR, crisis=HOUR))
    await store.end(ending("c1", START + 10))
    await store.end(ending("c2", START + 2 * HOUR + 10))
    await store.mark_crisis(mark("c1", START + 20))
    await store.mark_crisis(mark("c2", START + 2 * HOUR + 20))
    clock.advance(2 * HOUR + 30)  # the first ending and the first mark have expired

    assert await store.activity(T, EDGES) == Activity(EDGES, (0, 0, 1), (0, 0, 1))


async def test_no_edges_no_counts(store: Store) -> None:
    """Fewer than two edges name no interval: empty counts, no error."""
    assert await store.activity(T, [START]) == Activity((START,), (), ())


async def test_distress_marks_are_no_crisis_turns(store: Store, clock: FakeClock) -> None:
    """A distress mark holds endings off but is no redirect: activity leaves it out."""
    distress = CrisisMark(T, "c1", "fp-1", "self_harm", START + 5, "distress")
    await store.mark_crisis(distress)
    await store.mark_crisis(mark("c2", START + 7))
    clock.advance(4 * HOUR)
    assert (await store.activity(T, EDGES)).crisis == (1, 0, 0)
