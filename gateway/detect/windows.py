"""Where in a text a rule's match can start: windows around the hits of its keywords.

Every match of a rule holds one of its keywords (the contract of `keywords`, which also
decides whether the rule runs at all), and a proven pattern reads at most `reach`
characters from where an attempt starts and `behind` before it (`linear.prove_linear`).
So a match can only start within `reach` before a keyword hit or `behind` after it: a
long text with a few hits is searched around them, not end to end. The windows are exact,
not a heuristic: each is searched with enough text after it for every attempt starting in
it to see all it reads, and a match found starting past the window is left to the next one.
"""

from __future__ import annotations

from typing import Any

# Past this many separate windows, the rest of the text becomes one: still exact, and the
# per-hit bookkeeping of a keyword-dense text stays short.
MAX_WINDOWS = 256
# A window is searched in pieces of at most this many start positions: the same matches
# (a piece is searched with `reach` after it, like a window), and no single search, which
# holds the GIL, runs long when a text is scanned in a worker thread beside the loop.
PIECE_STARTS = 16_384

Span = tuple[int, int]


def keyword_windows(
    automaton: Any, text: str, reach: int, behind: int, everything: int
) -> tuple[set[int], list[Span]]:
    """The rules armed by keywords in `text`, and the spans where their matches may start.

    `automaton` maps each casefolded keyword to `(len(keyword), rule indexes)`; `reach`
    and `behind` are the largest of the rules'; `everything` is the number of rules.
    """
    found: set[int] = set()
    folded = text.casefold()
    length = len(text)
    # Folding that changes lengths (ß -> ss) moves the hits: then the text is one window.
    whole = len(folded) != length
    windows: list[list[int]] = [[0, length]] if whole else []
    for end, (size, indexes) in automaton.iter(folded):
        found |= indexes
        if whole:
            if len(found) == everything:
                break
            continue
        first = max(0, end + 1 - reach)  # the hit must lie inside what an attempt reads
        last = min(length, end + 2 - size + behind)
        if windows and first <= windows[-1][1]:
            windows[-1][1] = max(windows[-1][1], last)
        elif len(windows) < MAX_WINDOWS:
            windows.append([first, last])
        else:
            windows[-1][1] = length
            whole = True
    return found, [(first, last) for first, last in windows]


def search_windows(pattern: Any, text: str, windows: list[Span], reach: int) -> bool:
    """Whether `pattern` (reading at most `reach` from a start) matches starting in a window."""
    length = len(text)
    for first, last in windows:
        for start in range(first, last, PIECE_STARTS):
            stop = min(last, start + PIECE_STARTS)
            # Text up to `stop + reach` lets every attempt starting before `stop` see all
            # it reads; a match starting later may be an artefact of the cut, and is not
            # ours (the search finds the leftmost match, so none starts before it).
            found = pattern.search(text, start, min(length, stop + reach + 1))
            if found is not None and found.start() < stop:
                return True
    return False
