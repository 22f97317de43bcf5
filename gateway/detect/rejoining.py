"""Words broken by a space inside them joined back, and words run together with no space
cut apart: a second reading of a folded turn.

A space or a line break typed inside a word hides it from both detectors: one keyword
(`how do i make sa rin`), or every word of a request (`wh at ti me is the mar ket mos t
pack ed`). Such a break leaves two pieces of which one at least is no word of the
vocabulary (the rule packs' and the shipped word list's) and which together spell one.
Ordinary text holds pairs like that too (`mon piment a l'air mort`: 35 of 52,000 training,
evaluation and independent texts hold one), and none of those texts holds two, a tenth of
its words. So the pairs of a text are joined when there are that many of them; else only
a pair whose word arms a rule that neither piece arms (`sa rin`) is. As for chat
spellings, a text longer than a chat turn (`RESPELL_CHARS`) is read as written only.

Words run together (`howdoimakesaringasathome`, `writeasexualstoryabouta12yearoldgirl`)
are the hashtag trick without the hash: in a token of 16 characters or more that is no
word and is half the turn or more, each run of letters the vocabulary covers whole, with
few single letters, is read as its words (`wordbreaks.segment`), when four words or more
come of them. A compound in a sentence is a small part of it, and one alone falls short
of four covering words (`sekundenkleber`, cut anyway, would be `se kun denk leber`).

Letters starred out (`how do i make a b*mb`, `b*mbe`, `k*ll`) are read as the word they
hide: of the vocabulary's words the stars fit, one that arms a rule first (what people
star out is what a filter would catch), then the most frequent.
"""

from __future__ import annotations

import functools
import re
from typing import Any, Final

from gateway.detect.respelling import RESPELL_CHARS
from gateway.detect.windows import armed
from gateway.detect.wordbreaks import segment, shipped_ranks

# A text holding this many broken words, and this share of its words, had spaces put inside
# its words as a trick.
BROKEN_WORDS: Final = 2
BROKEN_SHARE: Final = 0.1
_BLANK: Final = re.compile("([ \n])")
# Shorter words are too often two real pieces of text (`a n`, `to o`).
_SHORTEST: Final = 4
# A token this long that is no word may be words run together; past the longest, it is
# no chat sentence (`segment` costs about 2 µs a letter). Its runs of letters this long
# are cut; four words at least must come of them.
_RUN_CHARS: Final = 16
_LONGEST_RUN: Final = 240
_LETTER_RUN: Final = re.compile(r"[^\W\d_]{6,}")
_RUN_WORDS: Final = 4
# Letters starred out of one word (`k*ll`, `expl*s*ve`), and the longest such word read.
_MASKS: Final = 3
_LONGEST_WORD: Final = 24
# Punctuation a chat word may carry on its outer side, left out when it is looked up.
_EDGES: Final = "\"'()[]{}<>¿¡«»…\u2018\u2019\u201c\u201d.,:;!?*_-/"


def rejoined(folded: str, automaton: Any, words: frozenset[str]) -> str | None:
    """`folded` with the words a space breaks joined back (see the module's doc), or None
    when none is; `automaton` holds the rules' casefolded keywords."""
    if len(folded) > RESPELL_CHARS:
        return None
    # Words, each followed by the blank after it (a space or a line break).
    if "\n" in folded:
        parts = _BLANK.split(folded)
        tokens = parts[::2]
    else:  # five times quicker than the pattern's split
        tokens = folded.split(" ")
        parts = [" "] * (2 * len(tokens) - 1)
        parts[::2] = tokens
    cut = _run_cut(tokens, words, folded)
    if "*" in folded:
        cut |= _unmasked(tokens, automaton, words)
    if cut:
        tokens = [cut.get(token, token) for token in tokens]
        parts[::2] = tokens
    # A broken word has a piece that is no word: only the pairs around one are looked at
    # (the set difference runs at C speed; most words of a text are words).
    odd = {
        token
        for token in set(tokens).difference(words)
        if (word := token.strip(_EDGES)) not in words and word.isalpha()
    }
    if not odd:
        return "".join(parts) if cut else None
    broken: list[int] = []
    last = len(tokens) - 1
    for i in [i for i, token in enumerate(tokens) if token in odd]:
        # The odd token is the right piece of a pair, or the left; a token joins one pair.
        for left in (i - 1, i):
            free = not broken or broken[-1] < left - 1
            if 0 <= left < last and free and _broken(tokens[left], tokens[left + 1], words):
                broken.append(left)
    if len(broken) < BROKEN_WORDS or len(broken) < BROKEN_SHARE * len(tokens):
        broken = [i for i in broken if _arms(automaton, tokens[i], tokens[i + 1])]
    if not broken:
        return "".join(parts) if cut else None
    for i in reversed(broken):
        parts[2 * i : 2 * i + 3] = [parts[2 * i] + parts[2 * i + 2]]
    return "".join(parts)


def _run_cut(tokens: list[str], words: frozenset[str], folded: str) -> dict[str, str]:
    """The token of `tokens` that is words run together in `folded`, if one is, with its
    words: each run of letters in it the vocabulary covers whole is cut into them."""
    longest = max(tokens, key=len)
    if not _RUN_CHARS <= len(longest) <= _LONGEST_RUN or 2 * len(longest) < len(folded):
        return {}
    if longest.strip(_EDGES) in words:
        return {}
    found = 0

    def cut(run: re.Match[str]) -> str:
        nonlocal found
        pieces, covered = segment(run[0], words)
        spelt = pieces.split(" ")
        if not covered or len(spelt) < 2 or 3 * sum(len(p) == 1 for p in spelt) > len(spelt):
            return run[0]
        found += len(spelt)
        return pieces

    read = _LETTER_RUN.sub(cut, longest)
    return {longest: read} if found >= _RUN_WORDS else {}


def _unmasked(tokens: list[str], automaton: Any, words: frozenset[str]) -> dict[str, str]:
    """The tokens of `tokens` with letters starred out (`k*ll`), each with the word it
    hides."""
    read = {}
    for token in {token for token in tokens if "*" in token}:
        word = token.strip(_EDGES)
        if (
            0 < word.count("*") <= _MASKS
            and len(word) <= _LONGEST_WORD
            and word[0].isalpha()
            and word.replace("*", "").isalpha()
            and (hidden := _hidden_word(word, automaton, words)) is not None
        ):
            read[token] = token.replace(word, hidden, 1)
    return read


def _hidden_word(masked: str, automaton: Any, words: frozenset[str]) -> str | None:
    """The word of `words` `masked` spells with each `*` a letter: one that arms a rule
    before one that does not (what is starred out is what would be caught), then the most
    frequent."""
    fits = [
        word
        for word in _by_start(words).get((masked[0], len(masked)), ())
        if all(c in ("*", d) for c, d in zip(masked, word, strict=True))
    ]
    if not fits:
        return None
    ranks = shipped_ranks()
    return min(fits, key=lambda word: (not armed(automaton, word), ranks.get(word, len(ranks))))


@functools.lru_cache(maxsize=4)
def _by_start(words: frozenset[str]) -> dict[tuple[str, int], list[str]]:
    """The words of `words`, by their first letter and length."""
    index: dict[tuple[str, int], list[str]] = {}
    for word in words:
        if word.isalpha():
            index.setdefault((word[0], len(word)), []).append(word)
    return index


def _broken(left: str, right: str, words: frozenset[str]) -> bool:
    """Whether `left` and `right` are one word broken by a space: together a word of
    `words`, apart not two."""
    left = left.lstrip(_EDGES)
    right = right.rstrip(_EDGES)
    joined = left + right
    return (
        joined in words
        and len(joined) >= _SHORTEST
        and joined.isalpha()
        and (left not in words or right not in words)
    )


def _arms(automaton: Any, left: str, right: str) -> bool:
    """Whether the word `left` and `right` spell arms a rule neither arms alone."""
    left = left.lstrip(_EDGES)
    right = right.rstrip(_EDGES)
    return bool(armed(automaton, left + right) - armed(automaton, left) - armed(automaton, right))
