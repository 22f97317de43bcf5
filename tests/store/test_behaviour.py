"""One behaviour suite for every store backend (memory, SQLite, Redis)."""

from __future__ import annotations

import asyncio

import pytest

from gateway.store import (
    ConversationState,
    CrisisMark,
    Ending,
    PathState,
    Retention,
    Store,
    Strike,
    Unlock,
)
from tests.store.conftest import REDIS_BACKENDS
from tests.store.store_helpers import START, FakeClock, MakeStore

T, OTHER = "tenant-a", "tenant-b"
C, C2 = "conv_main", "conv_other"
MAIN = ("fp-0", "fp-1", "fp-2", "fp-3")  # prefixes of one conversation, root first
BRANCH = ("fp-0", "fp-1", "fb-2")  # the user edited turn 2: a sibling of fp-2


def points_to(fingerprint: str) -> tuple[str, ...]:
    """The path of a point of MAIN or BRANCH, root first, the point last."""
    line = MAIN if fingerprint in MAIN else BRANCH
    return line[: line.index(fingerprint) + 1]


def strike(fingerprint: str, at: float, tenant: str = T, conv: str = C) -> Strike:
    return Strike(tenant, conv, fingerprint, "violence", "anthropic", at, points_to(fingerprint))


def ending(fingerprint: str, at: float, tenant: str = T, conv: str = C) -> Ending:
    return Ending(tenant, conv, fingerprint, "strikes", ("violence",), at)


def unlock(at: float, tenant: str = T, conv: str = C) -> Unlock:
    return Unlock(tenant, conv, "reviewer@example.com", "appeal granted", at)


async def test_fresh_path_has_empty_state(store: Store) -> None:
    """A path nothing was recorded on has no strikes, no ending, no crisis marks."""
    assert isinstance(store, Store)
    assert await store.path_state(T, C, MAIN) == PathState((), None, ())
    assert await store.path_state(T, C, []) == PathState()
    assert await store.conversation(T, C) is None


async def test_strikes_count_only_on_the_given_prefixes(store: Store, clock: FakeClock) -> None:
    """Strikes on a sibling branch or another tenant are not seen on a path."""
    await store.add_strike(strike("fp-1", clock()))
    await store.add_strike(strike("fp-2", clock.advance(1)))
    await store.add_strike(strike("fb-2", clock.advance(1)))
    await store.add_strike(strike("fp-1", clock.advance(1), tenant=OTHER))

    main = await store.path_state(T, C, MAIN)
    assert [s.fingerprint for s in main.strikes] == ["fp-1", "fp-2"]
    assert main.strikes[0] == strike("fp-1", START)
    branch = await store.path_state(T, C, BRANCH)
    assert [s.fingerprint for s in branch.strikes] == ["fp-1", "fb-2"]
    assert len((await store.path_state(T, C, MAIN[:2])).strikes) == 1
    assert len((await store.path_state(OTHER, C, MAIN)).strikes) == 1


async def test_add_strike_returns_the_whole_conversation_after_it(
    store: Store, clock: FakeClock
) -> None:
    """add_strike answers with every standing record of the conversation, the new strike
    included: strikes of every branch with their paths, standing endings, crisis marks."""
    await store.add_strike(strike("fb-2", clock()))
    await store.end(ending("fp-0", clock.advance(1)))
    mark = CrisisMark(T, C, "fb-2", "self_harm", clock.advance(1))
    await store.mark_crisis(mark)
    await store.add_strike(strike("fp-1", clock.advance(1), conv=C2))
    state = await store.add_strike(strike("fp-3", clock.advance(1)))

    assert isinstance(state, ConversationState)
    assert {(s.fingerprint, s.path) for s in state.strikes} == {
        ("fb-2", BRANCH),
        ("fp-3", MAIN),
    }
    assert state.strikes[-1] == strike("fp-3", clock())
    assert state.endings == (ending("fp-0", START + 1),)
    assert state.crisis == (mark,)
    assert state.on(MAIN[:2]) == PathState((), ending("fp-0", START + 1), ())
    assert state.on(BRANCH) == await store.path_state(T, C, BRANCH)


async def test_add_strike_leaves_out_what_no_longer_stands(
    make_store: MakeStore, clock: FakeClock
) -> None:
    """The state add_strike returns holds no forgiven or expired strike and no lifted ending."""
    store = await make_store(Retention(strikes=100))
    await store.add_strike(strike("fp-1", clock()))
    await store.end(ending("fp-1", clock.advance(1)))
    await store.unlock(unlock(clock.advance(1)))
    await store.add_strike(strike("fp-2", clock.advance(1)))
    state = await store.add_strike(strike("fp-3", clock.advance(100)))
    assert [s.fingerprint for s in state.strikes] == ["fp-3"]
    assert state.endings == ()


@pytest.mark.parametrize("backend", ["sqlite", *REDIS_BACKENDS], indirect=True)
async def test_the_last_of_concurrent_strikes_sees_every_path(
    make_store: MakeStore, clock: FakeClock
) -> None:
    """Strikes on turns 1, 1-2 and 1-3 written at once through two replicas: the writes are
    serialised, so one answer holds all three, with the deepest strike's whole path."""
    one, two = await make_store(), await make_store()
    for trial in range(10):
        conv = f"conv_{trial}"
        states = await asyncio.gather(
            one.add_strike(strike("fp-1", clock.advance(1), conv=conv)),
            two.add_strike(strike("fp-2", clock.advance(1), conv=conv)),
            one.add_strike(strike("fp-3", clock.advance(1), conv=conv)),
        )
        assert sorted(len(s.strikes) for s in states) == [1, 2, 3]
        last = max(states, key=lambda s: len(s.strikes))
        assert {s.fingerprint: s.path for s in last.strikes} == {
            "fp-1": MAIN[:2],
            "fp-2": MAIN[:3],
            "fp-3": MAIN,
        }


async def test_ending_is_found_on_any_prefix_first_in_order(store: Store, clock: FakeClock) -> None:
    """A path is ended when any prefix is; of several endings, the earliest prefix's wins."""
    long_path = [f"fp-{i}" for i in range(200)]
    await store.end(ending("fp-150", clock()))
    await store.end(ending("fp-2", clock.advance(1)))

    state = await store.path_state(T, C, long_path)
    assert state.ending == ending("fp-2", clock())
    assert (await store.path_state(T, C, long_path[:100])).ending == ending("fp-2", clock())
    assert (await store.path_state(T, C, MAIN[:2])).ending is None
    assert (await store.path_state(T, C, BRANCH)).ending is None
    assert (await store.path_state(OTHER, C, MAIN)).ending is None


async def test_end_is_idempotent_per_fingerprint(store: Store, clock: FakeClock) -> None:
    """Ending an already ended fingerprint returns the standing ending unchanged."""
    first = await store.end(ending("fp-2", clock()))
    again = await store.end(Ending(T, C, "fp-2", "model", (), clock.advance(5)))
    assert first == again == ending("fp-2", START)
    assert await store.endings(T, 10) == [first]
    other_tenant = await store.end(ending("fp-2", clock(), tenant=OTHER))
    assert other_tenant.tenant == OTHER


async def test_unlock_lifts_forgives_and_is_audited(store: Store, clock: FakeClock) -> None:
    """Unlock lifts standing endings, forgives earlier strikes, keeps both for audit."""
    await store.add_strike(strike("fp-1", clock()))
    await store.add_strike(strike("fp-2", clock.advance(1)))
    await store.end(ending("fp-2", clock.advance(1)))
    await store.end(ending("fb-2", clock.advance(1)))

    done = await store.unlock(unlock(clock.advance(1)))
    assert done == Unlock(T, C, "reviewer@example.com", "appeal granted", clock(), lifted=2)
    assert await store.path_state(T, C, MAIN) == PathState()
    after = await store.add_strike(strike("fp-3", clock.advance(1)))
    assert [s.fingerprint for s in after.strikes] == ["fp-3"]

    record = await store.conversation(T, C)
    assert record is not None
    assert [s.fingerprint for s in record.strikes] == ["fp-1", "fp-2", "fp-3"]
    assert {e.fingerprint: e.lifted_at for e in record.endings} == {
        "fp-2": START + 4,
        "fb-2": START + 4,
    }
    assert record.unlocks == (done,)
    assert all(e.lifted_at == START + 4 for e in await store.endings(T, 10))

    again = await store.end(ending("fp-2", clock.advance(1)))
    assert again.at == clock() and again.lifted_at is None
    assert (await store.path_state(T, C, MAIN)).ending == again
    assert (await store.unlock(unlock(clock.advance(1)))).lifted == 1


async def test_unlock_is_tenant_scoped(store: Store, clock: FakeClock) -> None:
    """An unlock for another tenant lifts nothing and forgives nothing."""
    await store.add_strike(strike("fp-1", clock()))
    await store.end(ending("fp-2", clock.advance(1)))
    assert (await store.unlock(unlock(clock.advance(1), tenant=OTHER))).lifted == 0
    state = await store.path_state(T, C, MAIN)
    assert len(state.strikes) == 1 and state.ending is not None
    assert (await store.unlock(unlock(clock.advance(1), conv=C2))).lifted == 0
    assert (await store.path_state(T, C, MAIN)).ending is not None


async def test_crisis_marks_stand_on_their_path(store: Store, clock: FakeClock) -> None:
    """Crisis marks are seen on paths through their fingerprint and listed in the record."""
    mark = CrisisMark(T, C, "fp-1", "self_harm", clock())
    await store.mark_crisis(mark)
    await store.mark_crisis(CrisisMark(T, C, "fb-2", "violence_to_others", clock.advance(1)))
    assert (await store.path_state(T, C, MAIN)).crisis == (mark,)
    assert [c.fingerprint for c in (await store.path_state(T, C, BRANCH)).crisis] == [
        "fp-1",
        "fb-2",
    ]
    assert (await store.path_state(T, C, MAIN[:1])).crisis == ()
    assert (await store.path_state(OTHER, C, MAIN)).crisis == ()
    record = await store.conversation(T, C)
    assert record is not None and len(record.crisis) == 2


async def test_aliases_resolve_one_to_one(store: Store, clock: FakeClock) -> None:
    """An alias resolves to its conversation, per tenant; re-pointing it moves it."""
    assert await store.resolve(T, C) is None
    await store.set_alias(T, C, "support-thread")
    assert await store.resolve(T, "support-thread") == C
    assert await store.resolve(T, C) == C
    assert await store.resolve(OTHER, "support-thread") is None
    assert await store.resolve(T, "conv_unknown") is None
    record = await store.conversation(T, C)
    assert record is not None and record.alias == "support-thread"

    await store.set_alias(T, C2, "support-thread")
    assert await store.resolve(T, "support-thread") == C2
    assert (await store.conversation(T, C)) is None
    await store.set_alias(T, C2, "renamed")
    assert await store.resolve(T, "support-thread") is None
    assert await store.resolve(T, "renamed") == C2

    await store.add_strike(strike("fp-1", clock()))
    assert await store.resolve(T, C) == C


async def test_endings_paginate_newest_first(store: Store, clock: FakeClock) -> None:
    """The audit lists endings newest first, per tenant or all, with an exclusive cursor."""
    for i in range(5):
        await store.end(ending(f"fp-{i}", clock.advance(1), conv=f"conv_{i}"))
        await store.end(ending(f"fp-{i}", clock.advance(1), tenant=OTHER, conv=f"conv_{i}"))
    await store.unlock(unlock(clock.advance(1), conv="conv_4"))

    page = await store.endings(T, 2)
    assert [(e.conversation_id, e.at) for e in page] == [
        ("conv_4", START + 9),
        ("conv_3", START + 7),
    ]
    assert page[0].lifted_at == clock()
    page = await store.endings(T, 2, before=page[-1].at)
    assert [e.conversation_id for e in page] == ["conv_2", "conv_1"]
    page = await store.endings(T, 2, before=page[-1].at)
    assert [e.conversation_id for e in page] == ["conv_0"]
    assert await store.endings(T, 2, before=page[-1].at) == []

    everyone = await store.endings(None, 100)
    assert len(everyone) == 10
    assert [e.at for e in everyone] == sorted((e.at for e in everyone), reverse=True)
    assert await store.endings(None, 0) == []


async def test_retention_expires_records(make_store: MakeStore, clock: FakeClock) -> None:
    """Strikes, crisis marks and endings past their retention are ignored on read."""
    store = await make_store(Retention(strikes=100, endings=1000, crisis=10))
    await store.add_strike(strike("fp-1", clock()))
    await store.mark_crisis(CrisisMark(T, C, "fp-1", "self_harm", clock()))
    await store.end(ending("fp-2", clock()))

    clock.advance(10)
    state = await store.path_state(T, C, MAIN)
    assert len(state.strikes) == 1 and state.crisis == () and state.ending is not None
    clock.advance(90)
    state = await store.path_state(T, C, MAIN)
    assert state.strikes == () and state.ending is not None
    clock.advance(900)
    assert await store.path_state(T, C, MAIN) == PathState()
    assert await store.endings(T, 10) == []
    fresh = await store.end(ending("fp-2", clock()))
    assert fresh.at == clock()
    record = await store.conversation(T, C)
    assert record is not None and record.endings == (fresh,) and record.strikes == ()


@pytest.mark.parametrize("backend", ["memory", "sqlite"], indirect=True)
async def test_retention_purges_old_records(make_store: MakeStore, clock: FakeClock) -> None:
    """Expired records and aliases are gone for good once the store purges."""
    store = await make_store(Retention(strikes=100, endings=100, crisis=10))
    await store.set_alias(T, C, "thread")
    await store.add_strike(strike("fp-1", clock()))
    await store.end(ending("fp-2", clock()))
    await store.unlock(unlock(clock()))
    clock.advance(101)
    assert await store.resolve(T, "thread") is None
    assert await store.conversation(T, C) is None
    await store.mark_crisis(CrisisMark(T, C2, "fp-9", "self_harm", clock()))
    assert await store.resolve(T, C) is None
    assert (await store.conversation(T, C2)) is not None


async def test_crisis_marks_keep_their_level(store: Store, clock: FakeClock) -> None:
    """A mark is read back with its level, on the path and in the conversation's record."""
    crisis = CrisisMark(T, C, "fp-1", "self_harm", clock(), "crisis")
    distress = CrisisMark(T, C, "fp-2", "self_harm", clock.advance(1), "distress")
    await store.mark_crisis(crisis)
    await store.mark_crisis(distress)
    assert (await store.path_state(T, C, MAIN)).crisis == (crisis, distress)
    record = await store.conversation(T, C)
    assert record is not None and record.crisis == (crisis, distress)
    assert [m.level for m in (await store.add_strike(strike("fp-3", clock()))).crisis] == [
        "crisis",
        "distress",
    ]


async def test_concurrent_strikes_lose_nothing(store: Store, clock: FakeClock) -> None:
    """50 concurrent add_strike calls on one path record 50 strikes, each seeing a new count."""
    states = await asyncio.gather(
        *(store.add_strike(strike(MAIN[i % 4], clock() + i / 100)) for i in range(50))
    )
    assert sorted(len(s.strikes) for s in states) == list(range(1, 51))
    assert len((await store.path_state(T, C, MAIN)).strikes) == 50


@pytest.mark.parametrize("backend", ["sqlite", *REDIS_BACKENDS], indirect=True)
async def test_replicas_share_state(make_store: MakeStore, clock: FakeClock) -> None:
    """Two store instances on one backend see each other's writes and serialise strikes."""
    one, two = await make_store(), await make_store()
    states = await asyncio.gather(
        *((one, two)[i % 2].add_strike(strike("fp-1", clock() + i / 100)) for i in range(40))
    )
    assert sorted(len(s.strikes) for s in states) == list(range(1, 41))
    ended = await one.end(ending("fp-2", clock()))
    assert (await two.path_state(T, C, MAIN)).ending == ended
    assert await two.end(ending("fp-2", clock.advance(1))) == ended
    assert (await two.unlock(unlock(clock()))).lifted == 1
    assert await one.path_state(T, C, MAIN) == PathState()
