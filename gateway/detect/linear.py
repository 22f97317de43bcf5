r"""Proof, at load, that a rule pattern runs in time linear in the text it searches.

Python's `re` backtracks: `search` tries the pattern at every position of the text, and one
attempt may explore many paths. A pattern is linear when the work of one attempt is bounded
by a constant that does not depend on the text. Two properties, read off the parsed pattern
(`re._parser`), make it so by construction:

- **Bounded reach.** Every repeat has a finite maximum (`{0,7}`, `{1,40}`; never `*`, `+` or
  `{n,}`), so one attempt reads at most `reach` characters after its start and `behind`
  before it, whatever the text, and explores a finite tree. No attempt can rescan a long run
  of text, which is what made `[.!?:] \W*` quadratic on a text of `. . . .`.
- **No ambiguous repeat.** Within that span, the constant explodes when a repeat can match
  one text in many ways (`(a{1,9}){1,9}b`: about 10^9 per position). For every repeat the
  number of ways is bounded from the tree and must stay under `REPEAT_LIMIT`, with sound
  refinements that keep honest patterns cheap: a run of one character class followed only
  by characters outside it (`\w{1,40}` before `\W`, `[\w'-]{1,40}` before a space) can end
  in one place only; an iteration count is decided when another iteration and what follows
  cannot start alike; of a group's alternatives only those that can start alike (first
  characters and literal prefixes) can both match.

`Cost.steps` bounds one attempt's work. It multiplies every choice of a sequence, so it is
loose for long patterns, and its limit (`STEP_LIMIT`) only stops pieces that multiply each
other without a repeat around them; the tests measure the real constant.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from re import _constants as sre  # type: ignore[attr-defined]
from re import _parser as sre_parse  # type: ignore[attr-defined]
from typing import Any

from gateway.detect.charsets import EMPTY, Chars, charset, variants
from gateway.detect.pattern_text import show

# Upper bound on the ways one repeat may match the same text at one position. A lazy word
# window `(?:\w{1,40}\W{1,10}){0,7}?` has 8; `(a{1,9}){1,9}b` has about 10^9.
REPEAT_LIMIT = 1_000
# Upper bound on the steps of one attempt as a whole, a loose bound (see `Cost.steps`): it
# only stops pieces that multiply each other unrepeated, like `a{0,10}` written nine times
# (5e9). The shipped packs stay under 2.1e8.
STEP_LIMIT = 1_000_000_000
# Upper bound on how far one attempt may read from its start (both directions together).
REACH_LIMIT = 4_000
_CAP = 10**18  # saturating arithmetic: bounds stay cheap to compute even when absurd

_SINGLE = (sre.LITERAL, sre.NOT_LITERAL, sre.IN, sre.ANY)
_REPEATS = (sre.MAX_REPEAT, sre.MIN_REPEAT, sre.POSSESSIVE_REPEAT)


class NotLinear(ValueError):
    """A pattern whose matching time is not provably linear; the message names the construct."""


def _first(items: Sequence[tuple[Any, Any]], follow: Chars) -> Chars:
    """The characters a match of `items` followed by `follow` can start with."""
    first, passes = _first_nullable(items)
    return first | follow if passes else first


def _first_item(op: Any, av: Any) -> tuple[Chars, bool]:
    """An item's first characters, and whether a match may consume none (passing through)."""
    if op in _SINGLE:
        return charset(op, av), False
    if op is sre.AT:
        return EMPTY, True
    if op is sre.SUBPATTERN:
        return _first_nullable(av[-1])
    if op is sre.ATOMIC_GROUP:
        return _first_nullable(av)
    if op is sre.BRANCH:
        firsts = [_first_nullable(alt) for alt in av[1]]
        out = EMPTY
        for first, _ in firsts:
            out |= first
        return out, any(passes for _, passes in firsts)
    if op in _REPEATS:
        first, passes = _first_nullable(av[2])
        return first, passes or av[0] == 0
    # A lookaround consumes nothing: which paths get past the first character is decided by
    # what comes after it (its own cost is counted where it is tried).
    return EMPTY, True


# First sets of the parsed sequences of the patterns being proven, by identity: a proof asks
# for the same ones at every level. Each entry holds its sequence, so no id is reused while
# it is cached; prove_linear empties it.
_FIRSTS: dict[int, tuple[Sequence[tuple[Any, Any]], tuple[Chars, bool]]] = {}


def _first_nullable(items: Sequence[tuple[Any, Any]]) -> tuple[Chars, bool]:
    cached = _FIRSTS.get(id(items))
    if cached is not None:
        return cached[1]
    out, passes = EMPTY, True
    for op, av in _plain(items):
        first, item_passes = _first_item(op, av)
        out |= first
        if not item_passes:
            passes = False
            break
    _FIRSTS[id(items)] = (items, (out, passes))
    return out, passes


@dataclass(frozen=True, slots=True)
class Cost:
    """Bounds for one piece of a pattern matched at one position of any text."""

    width: int  # characters consumed, at most
    ways: int  # distinct ways to match, at most: what follows runs once for each
    steps: int  # steps to try every way, at most
    reach: int  # characters read at or after the start, at most
    behind: int  # characters read before the start, at most
    least: int = 0  # characters consumed, at least


# Patterns already proven: a reload, or another gateway in the same process, proves each once.
_PROVEN: dict[tuple[str, int], Cost] = {}
_PROVEN_SIZE = 4096


def prove_linear(pattern: str, flags: int = re.IGNORECASE) -> Cost:
    """The bounds of one match attempt of `pattern`; raise NotLinear naming the construct."""
    proven = _PROVEN.get((pattern, flags))
    if proven is not None:
        return proven
    try:
        parsed = sre_parse.parse(pattern, flags)
    except re.error as exc:
        raise NotLinear(f"bad pattern: {exc}") from None
    try:
        cost = _seq(parsed, EMPTY)
    finally:
        _FIRSTS.clear()
    if cost.reach + cost.behind > REACH_LIMIT:
        raise NotLinear(
            f"one match attempt may read {cost.reach + cost.behind} characters "
            f"(limit {REACH_LIMIT})"
        )
    if len(_PROVEN) >= _PROVEN_SIZE:
        _PROVEN.clear()
    _PROVEN[(pattern, flags)] = cost
    return cost


def _plain(items: Sequence[tuple[Any, Any]]) -> Sequence[tuple[Any, Any]]:
    """A parsed sequence as its plain list: a `SubPattern` is slow to walk item by item."""
    return items.data if isinstance(items, sre_parse.SubPattern) else items


def _mul(a: int, b: int) -> int:
    return min(a * b, _CAP)


def _seq(items: Sequence[tuple[Any, Any]], follow: Chars) -> Cost:
    """A sequence: what follows each item runs once for each way the items before it match."""
    items = _plain(items)
    follows = [follow] * len(items)
    after = follow
    for i in range(len(items) - 1, -1, -1):
        follows[i] = after
        first, passes = _first_item(*items[i])
        after = first | after if passes else first
    width = least = reach = behind = steps = 0
    ways = 1
    for (op, av), item_follow in zip(items, follows, strict=True):
        cost = _item(op, av, item_follow)
        steps = min(steps + _mul(ways, cost.steps), _CAP)
        ways = _mul(ways, cost.ways)
        reach = max(reach, width + cost.reach)
        # A lookbehind reads furthest back when the pieces before it consumed the least.
        behind = max(behind, cost.behind - least)
        width += cost.width
        least += cost.least
        if steps > STEP_LIMIT:
            raise NotLinear(
                f"`{show(items)}`: one attempt may take {_big(steps)} steps (limit "
                f"{_big(STEP_LIMIT)}): its pieces can each match the same text in several ways"
            )
    return Cost(width, ways, steps, reach, behind, least)


def _item(op: Any, av: Any, follow: Chars) -> Cost:
    if op in _SINGLE:
        return Cost(1, 1, 1, 1, 0, 1)
    if op is sre.AT:
        return Cost(0, 1, 1, 1, 1)
    if op is sre.SUBPATTERN:
        return _seq(av[-1], follow)
    if op is sre.ATOMIC_GROUP:
        body = _seq(av, EMPTY)
        return Cost(body.width, 1, body.steps, body.reach, body.behind, body.least)
    if op is sre.BRANCH:
        return _branch(av[1], follow)
    if op in _REPEATS:
        return _repeat(op, av, follow)
    if op in (sre.ASSERT, sre.ASSERT_NOT):
        direction, body_items = av
        body = _seq(body_items, EMPTY)  # a lookaround stops at its first success
        if direction == 1:
            return Cost(0, 1, body.steps, body.reach, body.behind)
        return Cost(0, 1, body.steps, 0, body.width + body.behind)
    if op in (sre.GROUPREF, sre.GROUPREF_EXISTS):
        raise NotLinear("a backreference (`\\1`, `(?(1)...)`): not a regular pattern")
    raise NotLinear(f"unsupported construct {op}")


def _branch(alternatives: Sequence[Any], follow: Chars) -> Cost:
    """Alternatives: every one is tried, but only those that can start alike can both go far."""
    costs = [_seq(alt, follow) for alt in alternatives]
    firsts = [_first(alt, follow) for alt in alternatives]
    # At one position, the alternatives that get past their first character all share it,
    # so all of them meet the first set of any one of them.
    prefixes = [_literal_prefix(alt) for alt in alternatives]
    unlike = [i for i, first in enumerate(firsts) if not first.literal]
    by_char: dict[str, set[int]] = {}
    for i, first in enumerate(firsts):
        for c in first.chars if first.literal else ():
            by_char.setdefault(c, set()).add(i)
    ways = steps = 0
    for i, first in enumerate(firsts):
        if first.literal:
            meeting = set().union(*(by_char[c] for c in first.chars))
            meeting.update(j for j in unlike if not first.disjoint(firsts[j]))
        else:
            meeting = {j for j, other in enumerate(firsts) if not first.disjoint(other)}
        rivals = [
            costs[j] for j in sorted(meeting) if _compatible(prefixes[i], prefixes[j], follow)
        ]
        ways = max(ways, sum(c.ways for c in rivals))
        steps = max(steps, sum(c.steps for c in rivals))
    return Cost(
        max(c.width for c in costs),
        min(ways, _CAP),
        min(len(costs) + steps, _CAP),  # an alternative that cannot start here: one step
        max(c.reach for c in costs),
        max(c.behind for c in costs),
        min(c.least for c in costs),
    )


def _literal_prefix(items: Sequence[tuple[Any, Any]]) -> tuple[str, bool]:
    """The literal text an alternative starts with (lower case), and whether that is all of it."""
    text: list[str] = []
    for op, av in _plain(items):
        if op is not sre.LITERAL:
            return "".join(text), False
        text.append(chr(av).lower())
    return "".join(text), True


def _compatible(a: tuple[str, bool], b: tuple[str, bool], follow: Chars) -> bool:
    """Whether two alternatives with these literal prefixes may both match at one position."""
    (short, whole), (long, _) = sorted((a, b), key=lambda prefix: len(prefix[0]))
    if not long.startswith(short):
        return False
    if whole and len(long) > len(short):
        # The short alternative is done; what follows it must start like the long one goes on.
        return not Chars(variants(ord(long[len(short)]))).disjoint(follow)
    return True


def _repeat(op: Any, av: Any, follow: Chars) -> Cost:
    low, high, body_items = av
    if high == sre.MAXREPEAT:
        raise NotLinear(
            f"unbounded repeat `{show([(op, av)])}`: give it a maximum, e.g. {{{low},40}}"
        )
    possessive = op is sre.POSSESSIVE_REPEAT
    if len(body_items) == 1 and body_items[0][0] in _SINGLE:
        chars = charset(*body_items[0])
        # Greedy or lazy, a run of one character class followed only by characters outside
        # the class can end in one place only; the other lengths fail at once.
        single = possessive or chars.disjoint(follow)
        ways = 1 if single else high - low + 1
        return Cost(high, ways, 2 * high + 1, high + 1, 0, low)
    body = _seq(body_items, EMPTY if possessive else _first(body_items, EMPTY) | follow)
    base = 1 if possessive else body.ways
    # After each iteration either another one or what follows goes on; when they cannot
    # start alike, only one of them gets past its first character: the count is decided.
    decided = possessive or _first(body_items, follow).disjoint(follow)
    top = min(base**high, _CAP) if base > 1 else 1  # the ways of a decided count, at most
    ways = 0
    steps = 1
    power = 1  # base ** k: the ways to have matched k iterations
    for k in range(high + 1):
        if k >= low:
            ways = min(ways + power, _CAP)
        if k < high:
            steps = min(steps + _mul(power, body.steps), _CAP)
        power = _mul(power, base)
    total = top if decided else ways
    if total > REPEAT_LIMIT:
        raise NotLinear(
            f"`{show([(op, av)])}` can match one text in {_big(total)} ways "
            f"(limit {REPEAT_LIMIT}): a repeat of a body that can match the same text "
            "in several ways"
        )
    reach = max(body.reach, (high - 1) * body.width + body.reach) if high else 0
    return Cost(high * body.width, total, steps, reach, body.behind, low * body.least)


def _big(n: int) -> str:
    return f"{n:.1e}" if n >= 10**7 else str(n)
