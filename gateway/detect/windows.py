"""Where in a text a rule's match can start: windows around the hits of its keywords.

Every match of a rule holds one of its keywords (the contract of `keywords`, which also
decides whether the rule runs at all), and a proven pattern reads at most `reach`
characters from where an attempt starts and `behind` before it (`linear.prove_linear`).
So a match of a rule can only start within its `reach` before a hit of one of its own
keywords, or its `behind` after it: each rule searches its own windows, and a long text
with a few hits costs little. The windows are exact, not a heuristic: each is searched
with enough text after it for every attempt starting in it to see all it reads, and a
match found starting past the window is left to the next one.

The work is bounded: the windows of all rules hold about `MAX_WINDOW_CHARS` at most. A
keyword-dense text (every word some rule's keyword, as adversarial padding is, or a long
document on these subjects) would otherwise make every rule search all of it, at a few
hundred nanoseconds a character each. Past the bound, the rules search their windows at
the start of the text and in its last `TAIL_CHARS`, as the model reads its first and last
pieces: a request hidden in the middle of a long keyword-dense text is left to the other
detectors. Every text whose windows fit, which is every text with a moderate number of
hits, is searched exactly.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any, Final

from gateway.detect.starts import STARTS_CHARS

# Characters of windows, summed over the rules, searched in one text at most: about 10 to
# 25 ms of pattern searches (Python's `re`, on this development machine) when every rule
# is armed everywhere. Half goes to the head of the text, half to its tail.
MAX_WINDOW_CHARS: Final = 65_536
# How much of a long, keyword-dense text's end is read for the tail's windows.
TAIL_CHARS: Final = 8_192
# A window is searched in pieces of at most this many start positions: the same matches
# (a piece is searched with `reach` after it, like a window), and no single search runs
# long (a scan beside the loop in a thread holds the GIL one search at a time).
PIECE_STARTS: Final = 16_384

Span = tuple[int, int]
Windows = dict[int, list[Span]]


def keyword_windows(
    automaton: Any, text: str, folded: str, reaches: Sequence[int], behinds: Sequence[int]
) -> Windows:
    """The rules armed by keywords in `text` (`folded` when casefolded), each with the spans
    where its matches may start.

    `automaton` maps each casefolded keyword to `(len(keyword), rule indexes)`; `reaches`
    and `behinds` are the rules' own. The spans hold `MAX_WINDOW_CHARS` at most, together.
    """
    length = len(text)
    half = MAX_WINDOW_CHARS // 2
    if len(folded) != length:
        # Folding that changes lengths (ß -> ss) moves the hits: each armed rule reads the
        # text whole, or its two ends.
        ends = [(0, length)] if length <= TAIL_CHARS else [(0, half), (length - half, length)]
        spans: Windows = {}
        for first, last in ends:
            for i in armed(automaton, text[first:last].casefold()):
                spans.setdefault(i, []).append((first, last))
        return spans
    head, complete = _windows(automaton, folded, 0, reaches, behinds, budget=half)
    if complete:
        return _spans(head)
    # Too dense to read whole: the head's windows, then those in the text's last part.
    head_end = max((w[-1][1] for w in head.values()), default=0)
    start = max(head_end, length - TAIL_CHARS)
    tail, _ = _windows(automaton, folded, start, reaches, behinds, budget=None)
    _trim_front(tail, half)
    for i, windows in tail.items():
        head.setdefault(i, []).extend(windows)
    return _spans(head)


def _windows(
    automaton: Any,
    folded: str,
    start: int,
    reaches: Sequence[int],
    behinds: Sequence[int],
    *,
    budget: int | None,
) -> tuple[dict[int, list[list[int]]], bool]:
    """Each armed rule's windows in `folded[start:]`, up to `budget` window characters in
    all; whether every hit was read."""
    windows: dict[int, list[list[int]]] = {}
    length = len(folded)
    held = 0
    for end, (size, indexes) in automaton.iter(folded, start):
        for i in indexes:
            # The hit must lie inside what an attempt reads.
            first = max(start, end + 1 - reaches[i])
            last = min(length, end + 2 - size + behinds[i])
            own = windows.setdefault(i, [])
            if own and first <= own[-1][1]:
                if last > own[-1][1]:
                    held += last - own[-1][1]
                    own[-1][1] = last
            else:
                own.append([first, last])
                held += last - first
        if budget is not None and held > budget:
            return windows, False
    return windows, True


def _trim_front(windows: dict[int, list[list[int]]], budget: int) -> None:
    """Cut every window at one position, the earliest that leaves `budget` characters."""
    cut = _earliest_cut(windows, budget)
    for own in windows.values():
        own[:] = [[max(first, cut), last] for first, last in own if last > cut]


def _earliest_cut(windows: dict[int, list[list[int]]], budget: int) -> int:
    """The earliest position such that the windows' characters after it are `budget` at
    most: one sweep from the right over the windows' ends, counting the windows open."""
    opened: dict[int, int] = {}
    for own in windows.values():
        for first, last in own:
            if last > first:
                opened[last] = opened.get(last, 0) + 1
                opened[first] = opened.get(first, 0) - 1
    held = 0
    active = 0
    previous = 0
    for point in sorted(opened, reverse=True):
        if active:
            span = previous - point
            if held + active * span > budget:
                return previous - (budget - held) // active
            held += active * span
        active += opened[point]
        previous = point
    return min((own[0][0] for own in windows.values() if own), default=0)


def _spans(windows: dict[int, list[list[int]]]) -> Windows:
    return {i: [(a, b) for a, b in own if b > a] for i, own in windows.items()}


def armed(automaton: Any, folded: str) -> set[int]:
    """The rules armed by keywords in `folded`."""
    found: set[int] = set()
    for _, (_, indexes) in automaton.iter(folded):
        found |= indexes
    return found


def search_at_starts(
    pattern: Any, text: str, folded: str, windows: list[Span], anchors: tuple[Any, bool]
) -> re.Match[str] | None:
    """The first match of `pattern` starting in a window, tried only where one of its start
    texts (`starts.starts`) begins in `folded` (`text` casefolded, as long), or at the
    text's start. `anchors` holds an automaton of the start texts, each mapped to its
    length (None when there are none), and whether a match may start the text."""
    starts, at_start = anchors
    bound = len(folded)
    for first, last in windows:
        if at_start and first == 0 and (found := pattern.match(text)) is not None:
            return found  # type: ignore[no-any-return]
        if starts is None:
            continue
        # A start text beginning before `last` ends before `last` plus its length.
        for end, size in starts.iter(folded, first, min(bound, last + STARTS_CHARS - 1)):
            start = end + 1 - size
            if start < last and (found := pattern.match(text, start)) is not None:
                return found  # type: ignore[no-any-return]
    return None


def search_windows(
    pattern: Any, text: str, windows: list[Span], reach: int
) -> re.Match[str] | None:
    """The first match of `pattern` (reading at most `reach` from a start) starting in a
    window."""
    length = len(text)
    for first, last in windows:
        for start in range(first, last, PIECE_STARTS):
            stop = min(last, start + PIECE_STARTS)
            # Text up to `stop + reach` lets every attempt starting before `stop` see all
            # it reads; a match starting later may be an artefact of the cut, and is not
            # ours (the search finds the leftmost match, so none starts before it).
            found = pattern.search(text, start, min(length, stop + reach + 1))
            if found is not None and found.start() < stop:
                return found  # type: ignore[no-any-return]
    return None
