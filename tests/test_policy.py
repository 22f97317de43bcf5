"""The policy's pure decisions: strikes, thresholds, crisis precedence, one turn decided."""

from __future__ import annotations

import pytest

from gateway.detect import Flags, Match
from gateway.policy import (
    SUPPRESSED,
    AnswerSignals,
    Mark,
    ModelEnding,
    Outcome,
    PathFacts,
    Policy,
    Reach,
    StrikeCall,
    StrikeOutcome,
    Suppression,
    TurnSignals,
    categories_at_threshold,
    crisis_on,
    decide,
    decide_strike,
    model_ending_left,
    standing_level,
    strike_category,
)
from gateway.policy.strikes import SUSPECTED_PREFIX, Struck
from gateway.records import (
    WHOLE_CONVERSATION,
    ConversationState,
    CrisisLevel,
    CrisisMark,
    Ending,
    PathState,
    Strike,
)

HARM = Match("r1", "weapons", "harmful")
CRISIS = Match("c1", "self_harm", "crisis")
SUSPECTED = Match("model.suspected.csam", "csam", "harmful")


@pytest.mark.parametrize(
    ("flags", "refusal", "model_ended", "expected"),
    [
        (Flags((HARM,)), "provider", False, Struck("weapons")),
        (Flags((HARM,)), "phrase", False, Struck("weapons")),
        (Flags((HARM,)), None, True, Struck("weapons")),
        (Flags((HARM,)), None, False, None),  # flagged but answered
        (Flags(), "provider", False, None),  # refused but not flagged: over-refusal
        (Flags(crisis=(CRISIS,)), "provider", False, None),  # crisis is no strike
        # Only suspected: a suspected strike; flagged in one category and suspected in
        # another: a confident strike of the flagged one.
        (Flags(suspected=(SUSPECTED,)), "phrase", False, Struck("csam", suspected=True)),
        (Flags(suspected=(SUSPECTED,)), None, False, None),
        (Flags((HARM,), suspected=(SUSPECTED,)), "provider", False, Struck("weapons")),
    ],
)
def test_a_strike_needs_a_flag_and_a_refusal(
    flags: Flags, refusal: str | None, model_ended: bool, expected: Struck | None
) -> None:
    """Detectors alone or a refusal alone are not strikes."""
    assert strike_category(flags, refusal, model_ended) == expected


def _strikes(*categories: str) -> list[Strike]:
    return [
        Strike("t", "conv_x", f"fp{i}", c, "provider", float(i)) for i, c in enumerate(categories)
    ]


@pytest.mark.parametrize(
    ("policy", "categories", "expected"),
    [
        (Policy(), ("weapons", "weapons"), ()),
        (Policy(), ("weapons", "weapons", "weapons"), ("weapons",)),
        (Policy(), ("weapons", "csam", "abuse"), ("abuse", "csam", "weapons")),
        (Policy(category_thresholds={"csam": 1}), ("csam",), ("csam",)),
        (Policy(category_thresholds={"csam": 1}), ("weapons",), ()),
        (Policy(threshold=5), ("weapons",) * 4, ()),
        (Policy(category_thresholds={"abuse": 10}), ("abuse",) * 3, ()),
        (Policy(category_thresholds={"abuse": 10}), ("abuse",) * 10, ("abuse",)),
        (Policy(category_thresholds={"abuse": 5}), ("abuse", "abuse", "weapons"), ()),
    ],
)
def test_endings_by_threshold_and_per_category_override(
    policy: Policy, categories: tuple[str, ...], expected: tuple[str, ...]
) -> None:
    """The default threshold counts all strikes; a category override ends on its own count."""
    assert categories_at_threshold(policy, _strikes(*categories)) == expected


def test_retrying_one_turn_counts_one_strike() -> None:
    """The same refused turn sent three times (regenerate, retries) is one strike, not three."""
    retried = [Strike("t", "c", "fp1", "weapons", "provider", float(i)) for i in range(3)]
    assert categories_at_threshold(Policy(), retried) == ()
    assert categories_at_threshold(Policy(threshold=1), retried) == ("weapons",)


def test_strikes_suppressed_by_a_crisis_count_only_for_what_would_have_been() -> None:
    """Strikes recorded during a crisis never end a conversation; they show what would have."""
    strikes = [Strike("t", "c", f"fp{i}", "weapons", SUPPRESSED, float(i)) for i in range(3)]
    assert categories_at_threshold(Policy(), strikes) == ()
    assert categories_at_threshold(Policy(), strikes, with_suppressed=True) == ("weapons",)


def _sure_and_suspected(*strikes: tuple[str, bool]) -> list[Strike]:
    """Strikes of (category, suspected) on distinct points."""
    return [
        Strike("t", "c", f"fp{i}", c, SUSPECTED_PREFIX + "phrase" if maybe else "phrase", 1.0)
        for i, (c, maybe) in enumerate(strikes)
    ]


W, W_ = ("weapons", False), ("weapons", True)  # a confident and a suspected strike


@pytest.mark.parametrize(
    ("policy", "strikes", "expected"),
    [
        (Policy(), (W, W, W_), ("weapons",)),
        (Policy(), (W, W_, W_), ()),  # suspected strikes never make most of an ending
        (Policy(), (W_, W_, W_, W_, W_), ()),  # a repeated look-alike only suspected
        (Policy(), (W, W_, W_, W), ("weapons",)),
        (Policy(), (W, ("csam", True), W), ("csam", "weapons")),
        (Policy(threshold=2), (W, W_), ("weapons",)),
        (Policy(threshold=1), (W_,), ()),
        (Policy(category_thresholds={"csam": 1}), (("csam", True),), ()),
        (Policy(category_thresholds={"csam": 2}), (("csam", False), ("csam", True)), ("csam",)),
        (Policy(category_thresholds={"csam": 2}), (W, ("csam", True)), ()),
    ],
)
def test_suspected_strikes_complete_an_ending_and_never_make_most_of_it(
    policy: Policy, strikes: tuple[tuple[str, bool], ...], expected: tuple[str, ...]
) -> None:
    """A path's suspected strikes count up to as many as its confident ones."""
    assert categories_at_threshold(policy, _sure_and_suspected(*strikes)) == expected


def test_a_turn_struck_once_suspected_and_once_confident_counts_once_confident() -> None:
    """The same turn retried (its thresholds reloaded in between) is one confident point."""
    both = [
        Strike("t", "c", "fp1", "weapons", SUSPECTED_PREFIX + "phrase", 1.0),
        Strike("t", "c", "fp1", "weapons", "phrase", 2.0),
        Strike("t", "c", "fp2", "weapons", SUSPECTED_PREFIX + "phrase", 3.0),
    ]
    assert categories_at_threshold(Policy(threshold=2), both) == ("weapons",)
    assert categories_at_threshold(Policy(threshold=3), both) == ()


def test_a_suspected_strike_held_by_a_crisis_is_both() -> None:
    """Recorded during a crisis, a suspected strike counts only for what would have been,
    and there as suspected."""
    held = SUSPECTED_PREFIX + SUPPRESSED
    strikes = [
        Strike("t", "c", "fp1", "weapons", SUPPRESSED, 1.0),
        Strike("t", "c", "fp2", "weapons", held, 2.0),
        Strike("t", "c", "fp3", "weapons", held, 3.0),
    ]
    assert categories_at_threshold(Policy(), strikes) == ()
    assert categories_at_threshold(Policy(), strikes, with_suppressed=True) == ()
    assert categories_at_threshold(Policy(threshold=2), strikes, with_suppressed=True) == (
        "weapons",
    )


# A conversation's points: turns 1, 1-2, 1-3 on the main line, and a branch edited at turn 2.
LINES = {
    "p1": ("p1",),
    "p2": ("p1", "p2"),
    "p3": ("p1", "p2", "p3"),
    "b2": ("p1", "b2"),
    "b3": ("p1", "b2", "b3"),
}
NOW = 100.0
DEFAULT = Policy()


def _struck(
    point: str, category: str = "weapons", source: str = "provider", at: float = 0.0
) -> Strike:
    return Strike("t", "conv_x", point, category, source, at, LINES[point])


def _ended(point: str) -> Ending:
    return Ending("t", "conv_x", point, "strikes", ("weapons",), 1.0)


def _decide(
    struck: list[str],
    new: str,
    policy: Policy = DEFAULT,
    crisis: tuple[str, ...] = (),
    endings: tuple[Ending, ...] = (),
    new_category: str = "weapons",
    suppressed: tuple[str, ...] = (),
) -> StrikeOutcome:
    """Decide the strike on `new` written after strikes on `struck` (all in the state)."""
    earlier = [
        _struck(p, source=SUPPRESSED if p in suppressed else "provider", at=float(i))
        for i, p in enumerate(struck)
    ]
    strike = _struck(new, new_category, at=NOW)
    marks = tuple(CrisisMark("t", "conv_x", p, "self_harm", 1.0) for p in crisis)
    state = ConversationState((*earlier, strike), endings, marks)
    return decide_strike(policy, state, strike, "p1")


def _end(point: str, own: bool, categories: tuple[str, ...] = ("weapons",)) -> Reach:
    return Reach(point, point, categories, own)


@pytest.mark.parametrize(
    ("struck", "new", "expected"),
    [
        # Turns 1, 1-2 and 1-3 struck at once, in every order the writes can land: whichever
        # writes last ends the deepest path, its own or not.
        (["p2", "p3"], "p1", (_end("p3", False),)),
        (["p3", "p1"], "p2", (_end("p3", False),)),
        (["p1", "p2"], "p3", (_end("p3", True),)),
        # Not yet three on any path.
        (["p3"], "p1", ()),
        (["p2", "b3"], "p1", ()),
        # A retry of turn 1 adds no point: the deeper path was decided when it got there.
        (["p1", "p2", "p3"], "p1", ()),
        # Both branches below turn 1 completed by it.
        (["p2", "p3", "b2", "b3"], "p1", (_end("p3", False), _end("b3", False))),
        # Sequential arrival: the third strike on its own path.
        (["p1", "p2"], "p3", (_end("p3", True),)),
        (["p1", "b2"], "b3", (_end("b3", True),)),
    ],
)
def test_a_strike_ends_every_path_it_completes(
    struck: list[str], new: str, expected: tuple[Reach, ...]
) -> None:
    """A strike ends its own path at the threshold, and the deeper paths it brings there."""
    outcome = _decide(struck, new)
    assert outcome.end == expected
    assert outcome.suppressed == ()
    assert outcome.reached == any(r.own for r in expected)


def test_of_nested_paths_at_the_threshold_only_the_shallowest_is_ended() -> None:
    """Threshold 2, turns 1, 1-2, 1-3 at once: turn 1-2's ending covers 1-3 (as it would
    have, had they come one by one)."""
    outcome = _decide(["p2", "p3"], "p1", Policy(threshold=2))
    assert outcome.end == (_end("p2", False),)


@pytest.mark.parametrize(
    ("crisis", "policy", "expected_end", "suppressed"),
    [
        (("p3",), Policy(), (), (("crisis", _end("p3", False)),)),
        (("p2",), Policy(), (), (("crisis", _end("p3", False)),)),
        (("p2",), Policy(crisis_turns=0), (_end("p3", False),), ()),
        (("b2",), Policy(), (_end("p3", False),), ()),  # a crisis on another branch
        (("p1",), Policy(crisis_turns=1), (_end("p3", False),), ()),  # it no longer stands
    ],
)
def test_no_ending_below_where_a_crisis_stands(
    crisis: tuple[str, ...],
    policy: Policy,
    expected_end: tuple[Reach, ...],
    suppressed: tuple[tuple[str, Reach], ...],
) -> None:
    """A deeper path with a crisis standing on it is not ended; the ending is counted as
    suppressed instead."""
    outcome = _decide(["p2", "p3"], "p1", policy, crisis=crisis)
    assert outcome.end == expected_end
    assert outcome.suppressed == suppressed


def test_no_ending_on_its_own_path_where_a_crisis_stands() -> None:
    """The third strike on a path with a crisis marked on it ends nothing: suppressed, once."""
    outcome = _decide(["p1", "p2"], "p3", crisis=("p3",))
    assert (outcome.end, outcome.suppressed) == ((), (("crisis", _end("p3", True)),))
    again = _decide(["p1", "p2", "p3"], "p3", crisis=("p3",))
    assert (again.end, again.suppressed) == ((), ())


def test_strikes_recorded_in_a_crisis_bring_a_suppressed_ending_below() -> None:
    """A strike recorded during a crisis does not count: the deeper path it would have
    completed is counted as suppressed, not ended."""
    outcome = _decide(["p2", "p3"], "p1", suppressed=("p2",))
    assert outcome.end == ()
    assert outcome.suppressed == (("crisis", _end("p3", False)),)


def test_lock_scope_conversation_ends_at_the_root_and_covers_the_request() -> None:
    """With lock_scope: conversation the one ending goes to the root, seen by the request."""
    policy = Policy(lock_scope="conversation")
    outcome = _decide(["p2", "p3", "b2", "b3"], "p1", policy)
    assert outcome.end == (Reach("p3", "p1", ("weapons",), True),)


def test_shadow_mode_counts_the_ending_once_and_writes_none() -> None:
    """Shadow mode: the path that reaches the threshold is counted as shadowed, once."""
    outcome = _decide(["p2", "p3"], "p1", Policy(shadow=True))
    assert (outcome.end, outcome.suppressed) == ((), (("shadow", _end("p3", False)),))
    later = _decide(["p1", "p2", "p3"], "p3", Policy(shadow=True))
    assert (later.end, later.suppressed, later.reached) == ((), (), True)


@pytest.mark.parametrize(
    ("ending", "new", "standing"),
    [
        (_ended("p1"), "p3", True),  # ended by a concurrent writer: shown, not written again
        (Ending("t", "conv_x", WHOLE_CONVERSATION, "admin", (), 1.0), "p3", True),
        (_ended("p2"), "p1", False),  # the deeper path is already ended: nothing to do
        (_ended("b2"), "p3", False),  # an ending on another branch changes nothing here
    ],
)
def test_a_standing_ending_is_not_written_twice(ending: Ending, new: str, standing: bool) -> None:
    """An ending already over a path the strike completes is not written (nor counted)
    again; over the request's own path, it is the one shown to it."""
    struck = [p for p in ("p1", "p2", "p3") if p != new]
    outcome = _decide(struck, new, endings=(ending,))
    assert outcome.standing == (ending if standing else None)
    if ending.fingerprint == "b2":
        assert outcome.end == (_end("p3", True),)
    else:
        assert outcome.end == ()


def test_a_category_threshold_ends_the_strikes_own_path() -> None:
    """A category with a threshold of one ends its own path at once; that ending covers
    the deeper paths, which need none of their own."""
    policy = Policy(category_thresholds={"csam": 1})
    outcome = _decide(["p2", "p3"], "p1", policy, new_category="csam")
    assert outcome.end == (_end("p1", True, ("csam",)),)


def test_strikes_recorded_without_a_path_count_on_the_paths_through_them() -> None:
    """Older strikes, recorded without their path, still count on the path of a strike
    through them (they cannot be found below a shallower one)."""
    old = [Strike("t", "conv_x", p, "weapons", "provider", 0.0) for p in ("p1", "p2")]
    new = _struck("p3", at=NOW)
    outcome = decide_strike(Policy(), ConversationState((*old, new)), new, "p1")
    assert outcome.end == (_end("p3", True),)
    deeper = Strike("t", "conv_x", "p3", "weapons", "provider", 0.0)
    first = _struck("p1", at=NOW)
    state = ConversationState((deeper, old[1], first))
    assert decide_strike(Policy(), state, first, "p1").end == ()


def test_a_crisis_stands_on_the_last_points_of_a_path() -> None:
    """crisis_on reads the newest point and the `crisis_turns` before it."""
    mark = [CrisisMark("t", "conv_x", "p1", "self_harm", 0.0)]
    assert crisis_on(Policy(crisis_turns=2), mark, LINES["p3"])
    assert not crisis_on(Policy(crisis_turns=1), mark, LINES["p3"])
    assert not crisis_on(Policy(), [], LINES["p3"])


@pytest.mark.parametrize(
    ("level", "policy", "stands"),
    [
        ("crisis", Policy(), True),  # a crisis: for the rest of the path by default
        ("distress", Policy(), True),  # a distress too
        ("distress", Policy(distress_turns=2), True),
        ("distress", Policy(distress_turns=1), False),
        ("distress", Policy(distress_turns=None), True),
        ("crisis", Policy(crisis_turns=1), False),
    ],
)
def test_each_level_stands_for_its_own_number_of_turns(
    level: CrisisLevel, policy: Policy, stands: bool
) -> None:
    """A crisis mark stands by `crisis_turns`, a distress mark by `distress_turns`."""
    mark = [CrisisMark("t", "conv_x", "p1", "self_harm", 0.0, level)]
    assert crisis_on(policy, mark, LINES["p3"]) is stands


def test_a_distress_window_bounds_only_distress() -> None:
    """With `distress_turns: 3`, four user turns after a distress turn it no longer holds
    endings off, while a crisis mark still does."""
    policy = Policy(distress_turns=3)
    points = ("p1", "p2", "p3", "p4", "p5")
    distress = [CrisisMark("t", "conv_x", "p1", "self_harm", 0.0, "distress")]
    crisis = [CrisisMark("t", "conv_x", "p1", "self_harm", 0.0, "crisis")]
    assert crisis_on(policy, distress, points[:4])
    assert not crisis_on(policy, distress, points)
    assert crisis_on(policy, crisis, points)


# One answered turn, decided: rows of (path, turn, answer) -> outcome.
DISTRESS = Match("d1", "self_harm", "crisis")
SEEN = (
    CrisisMark("t", "conv_x", "p1", "self_harm", 0.0, "crisis"),
    CrisisMark("t", "conv_x", "p1", "self_harm", 0.0, "distress"),
)
STRUCK_BEFORE = (_struck("p1"),)
REFUSED = AnswerSignals(refusal="phrase")
ENDS = AnswerSignals(model_ended=True)
CARES = AnswerSignals(care=("self_harm",))
HARMFUL_TURN = TurnSignals(Flags((HARM,)))
PLAIN_TURN = TurnSignals(Flags())
SUSPECTED_TURN = TurnSignals(Flags(suspected=(SUSPECTED,)))


def _path(marks: tuple[CrisisMark, ...] = (), strikes: tuple[Strike, ...] = ()) -> PathFacts:
    return PathFacts(PathState(strikes=strikes, crisis=marks), LINES["p3"])


def _ending(suppressed: Suppression | None, categories: tuple[str, ...] = ()) -> ModelEnding:
    return ModelEnding("p3", categories, suppressed)


@pytest.mark.parametrize(
    ("path", "turn", "answer", "expected"),
    [
        # Strikes: a flag and a refusal; held (recorded as suppressed) while a level stands.
        (_path(), HARMFUL_TURN, REFUSED, Outcome(strike=StrikeCall("weapons", "phrase"))),
        (_path(), HARMFUL_TURN, AnswerSignals(), Outcome()),
        (_path(), PLAIN_TURN, REFUSED, Outcome()),
        (
            _path(SEEN[:1]),
            HARMFUL_TURN,
            REFUSED,
            Outcome(strike=StrikeCall("weapons", "suppressed:crisis", "crisis"), held_by="crisis"),
        ),
        (
            _path(SEEN[1:]),
            HARMFUL_TURN,
            REFUSED,
            Outcome(
                strike=StrikeCall("weapons", "suppressed:distress", "distress"),
                held_by="distress",
            ),
        ),
        # This turn's own levels: crisis marks (and helplines at the start, not late);
        # distress alone marks distress; both hold the strike.
        (
            _path(),
            TurnSignals(Flags((HARM,), crisis=(CRISIS,), distress=(CRISIS,))),
            REFUSED,
            Outcome(
                marks=(Mark("crisis", "self_harm", "user"),),
                strike=StrikeCall("weapons", "suppressed:crisis", "crisis"),
                held_by="crisis",
            ),
        ),
        (
            _path(),
            TurnSignals(Flags((HARM,), distress=(DISTRESS,))),
            REFUSED,
            Outcome(
                marks=(Mark("distress", "self_harm", "user"),),
                strike=StrikeCall("weapons", "suppressed:distress", "distress"),
                held_by="distress",
            ),
        ),
        # The model as a witness: care in the answer marks crisis, helplines ride late
        # unless the user turn or the path already had a confident crisis.
        (
            _path(),
            PLAIN_TURN,
            CARES,
            Outcome(
                marks=(Mark("crisis", "self_harm", "answer"),),
                helplines="self_harm",
                held_by="crisis",
            ),
        ),
        (
            _path(SEEN[1:]),
            PLAIN_TURN,
            CARES,
            Outcome(
                marks=(Mark("crisis", "self_harm", "answer"),),
                helplines="self_harm",
                held_by="crisis",
            ),
        ),
        (
            _path(SEEN[:1]),
            PLAIN_TURN,
            CARES,
            Outcome(marks=(Mark("crisis", "self_harm", "answer"),), held_by="crisis"),
        ),
        (
            _path(),
            TurnSignals(Flags(crisis=(CRISIS,))),
            CARES,
            Outcome(marks=(Mark("crisis", "self_harm", "user"),), held_by="crisis"),
        ),
        # The model's ending: believed on a harmful path struck `model_end_strikes` times
        # (this turn included; earlier than that: early), or on an end request; unflagged
        # on a path with neither; never while a level stands.
        (
            _path(),
            HARMFUL_TURN,
            ENDS,
            Outcome(
                strike=StrikeCall("weapons", "end_tool"),
                model_ending=_ending("early", ("weapons",)),
            ),
        ),
        (
            _path(strikes=STRUCK_BEFORE),
            PLAIN_TURN,
            ENDS,
            Outcome(model_ending=_ending("early")),
        ),
        (
            _path(strikes=(_struck("p1"), _struck("p2"))),
            HARMFUL_TURN,
            ENDS,
            Outcome(
                strike=StrikeCall("weapons", "end_tool"), model_ending=_ending(None, ("weapons",))
            ),
        ),
        (
            # A turn struck twice (retried) is one turn of insistence.
            _path(strikes=(_struck("p3"), _struck("p3"))),
            HARMFUL_TURN,
            ENDS,
            Outcome(
                strike=StrikeCall("weapons", "end_tool"),
                model_ending=_ending("early", ("weapons",)),
            ),
        ),
        (
            # Strikes held by a crisis that has lapsed do not count as insistence.
            _path(strikes=(_struck("p1", source="suppressed:crisis"), _struck("p2"))),
            HARMFUL_TURN,
            ENDS,
            Outcome(
                strike=StrikeCall("weapons", "end_tool"),
                model_ending=_ending("early", ("weapons",)),
            ),
        ),
        (
            _path(),
            TurnSignals(Flags(), end_request=True),
            ENDS,
            Outcome(model_ending=_ending(None)),
        ),
        (_path(), PLAIN_TURN, ENDS, Outcome(model_ending=_ending("unflagged"))),
        # A suspected turn refused: a suspected strike (held by a level as any other);
        # suspected requests alone are no harmful request for the model's ending.
        (
            _path(),
            SUSPECTED_TURN,
            AnswerSignals(refusal="phrase"),
            Outcome(strike=StrikeCall("csam", "suspected:phrase")),
        ),
        (
            _path(SEEN[1:]),
            SUSPECTED_TURN,
            AnswerSignals(refusal="provider"),
            Outcome(
                strike=StrikeCall("csam", "suspected:suppressed:distress", "distress"),
                held_by="distress",
            ),
        ),
        (
            _path(strikes=(_struck("p1", source="suspected:phrase"),) * 3),
            SUSPECTED_TURN,
            ENDS,
            Outcome(
                strike=StrikeCall("csam", "suspected:end_tool"),
                model_ending=_ending("unflagged", ("csam",)),
            ),
        ),
        (
            _path(strikes=(_struck("p1"), _struck("p2", source="suspected:phrase"))),
            SUSPECTED_TURN,
            ENDS,
            Outcome(
                strike=StrikeCall("csam", "suspected:end_tool"),
                model_ending=_ending(None, ("csam",)),
            ),
        ),
        (
            _path(SEEN[1:]),
            TurnSignals(Flags(), end_request=True),
            ENDS,
            Outcome(model_ending=_ending("distress"), held_by="distress"),
        ),
        (
            _path(SEEN[:1], STRUCK_BEFORE),
            PLAIN_TURN,
            ENDS,
            Outcome(model_ending=_ending("crisis"), held_by="crisis"),
        ),
        (
            _path(),
            TurnSignals(Flags(), end_request=True),
            AnswerSignals(model_ended=True, care=("self_harm",)),
            Outcome(
                marks=(Mark("crisis", "self_harm", "answer"),),
                model_ending=_ending("crisis"),
                helplines="self_harm",
                held_by="crisis",
            ),
        ),
    ],
)
def test_one_answered_turn_decided(
    path: PathFacts, turn: TurnSignals, answer: AnswerSignals, expected: Outcome
) -> None:
    """Marks, strike, the model's ending and late helplines follow from the signals alone."""
    assert decide(DEFAULT, path, turn, answer) == expected


@pytest.mark.parametrize(
    ("policy", "turn", "expected"),
    [
        (Policy(shadow=True), TurnSignals(Flags(), end_request=True), "shadow"),
        (Policy(model_end_requires_flag=False), PLAIN_TURN, None),
        (Policy(model_end_requires_flag=False, shadow=True), PLAIN_TURN, "shadow"),
    ],
)
def test_the_model_ending_under_shadow_mode_and_without_the_flag_requirement(
    policy: Policy, turn: TurnSignals, expected: Suppression | None
) -> None:
    """Shadow mode counts a believed ending without writing it; the flag requirement can be
    turned off (a crisis still wins)."""
    assert decide(policy, _path(), turn, ENDS).model_ending == _ending(expected)
    held = decide(policy, _path(SEEN[:1]), turn, ENDS).model_ending
    assert held == _ending("crisis")


@pytest.mark.parametrize(
    ("policy", "strikes", "expected"),
    [
        (Policy(model_end_strikes=1), (), None),  # believed on one flagged, refused turn
        (Policy(model_end_strikes=2), (), "early"),
        (Policy(model_end_strikes=2), STRUCK_BEFORE, None),
        # A category that ends at fewer strikes believes the model as soon.
        (Policy(category_thresholds={"weapons": 1}), (), None),
        (Policy(category_thresholds={"weapons": 2}), STRUCK_BEFORE, None),
        (Policy(category_thresholds={"csam": 1}), STRUCK_BEFORE, "early"),
    ],
)
def test_the_model_ending_needs_the_configured_insistence(
    policy: Policy, strikes: tuple[Strike, ...], expected: Suppression | None
) -> None:
    """`model_end_strikes` (or a category's lower threshold) is how many struck turns the
    model's ending over harmful requests needs, this one included."""
    outcome = decide(policy, _path(strikes=strikes), HARMFUL_TURN, ENDS)
    assert outcome.model_ending == _ending(expected, ("weapons",))


def test_a_model_ending_goes_to_the_root_with_lock_scope_conversation() -> None:
    """With lock_scope: conversation the model's ending is written at the root."""
    ending = decide(Policy(lock_scope="conversation"), _path(), PLAIN_TURN, ENDS).model_ending
    assert ending is not None and ending.at == "p1"


@pytest.mark.parametrize(
    ("reached", "left"),
    [(None, True), (StrikeOutcome(reached=False), True), (StrikeOutcome(reached=True), False)],
)
def test_the_strikes_decide_a_path_before_the_model_does(
    reached: StrikeOutcome | None, left: bool
) -> None:
    """A strike that brought its own path to the threshold decided it: the model's ending
    is neither written nor counted on top."""
    outcome = decide(DEFAULT, _path(), HARMFUL_TURN, ENDS)
    assert (model_ending_left(outcome, reached) is not None) == left


@pytest.mark.parametrize(
    ("policy", "marks", "expected"),
    [
        (Policy(), (), None),
        (Policy(), SEEN[1:], "distress"),
        (Policy(), SEEN, "crisis"),
        (Policy(crisis_turns=1, distress_turns=1), SEEN, None),
        (Policy(crisis_turns=1), SEEN, "distress"),
        (Policy(crisis_turns=1, distress_turns=2), SEEN, "distress"),
        (Policy(crisis_turns=2), SEEN, "crisis"),
    ],
)
def test_the_strongest_standing_level(
    policy: Policy, marks: tuple[CrisisMark, ...], expected: str | None
) -> None:
    """Crisis over distress over nothing, within `crisis_turns` (the whole path: None)."""
    assert standing_level(policy, marks, LINES["p3"]) == expected


def test_a_strike_held_by_distress_suppresses_the_ending_as_distress() -> None:
    """Three strikes where a distress mark stands: the ending is suppressed as `distress`."""
    earlier = [_struck(p, at=float(i)) for i, p in enumerate(("p1", "p2"))]
    strike = _struck("p3", at=NOW)
    marks = (CrisisMark("t", "conv_x", "p2", "self_harm", 1.0, "distress"),)
    outcome = decide_strike(DEFAULT, ConversationState((*earlier, strike), (), marks), strike, "p1")
    assert (outcome.end, outcome.suppressed) == ((), (("distress", _end("p3", True)),))
    held = [_struck(p, source="suppressed:distress", at=float(i)) for i, p in enumerate(("p1",))]
    strike = _struck("p2", at=NOW)
    state = ConversationState((*held, _struck("p3", at=0.5), strike))
    assert decide_strike(DEFAULT, state, strike, "p1").suppressed == (
        ("distress", _end("p3", False)),
    )


def test_by_default_a_crisis_mark_stands_for_the_rest_of_its_path() -> None:
    """A crisis mark on the first of forty points still stands on the last one."""
    points = tuple(f"q{i}" for i in range(40))
    mark = (CrisisMark("t", "conv_x", "q0", "self_harm", 0.0, "crisis"),)
    assert standing_level(Policy(), mark, points) == "crisis"
    assert standing_level(Policy(crisis_turns=38), mark, points) is None
