"""The flags of the newest user turn: rule packs and the embedded model, on the turn alone
and on its window.

The newest turn is read alone, and in a **window** with the two user turns before it (the
last `WINDOW_TAIL_CHARS` of each, then the first `WINDOW_HEAD_CHARS` of the newest, one
turn a line), so a request split across turns is seen whole; a hit in the window flags the
newest turn when the earlier turns alone do not hold it (the newest turn completes it), or,
for a harmful category, when the newest turn alone leans to it (`CONTINUATION`): a
request flagged a turn ago and carried on in this one ("...now the quantities, step by
step") is this turn's too. Both readings go through the rules and the model, and each
text that holds chat spellings (`respelling`), accents put inside a word to hide a
keyword (`accents`: `sárin`) or spaces put inside words (`rejoining`: `sa rin`) is also
read with those words as the dictionary writes them:
the rules scan both spellings, the model scores the pieces of both. The turns come here
with what they hold in base64 or hex decoded (`detect.flag_turn`, `encodings`).

Levels: a rule match or a model score over the model's `crisis` threshold is a confident
crisis signal (`Flags.crisis`); `Flags.distress` holds those, every crisis category over
the lower `distress` threshold, and the model's `distress` label over its threshold
(despair with no word of suicide: `model.distress`, category `self_harm_suicide`). A
harmful category is flagged by a rule or a score over its `harmful` threshold; a score
over only its lower `suspected` threshold makes it suspected (`Flags.suspected`, named
`model.suspected.<label>`). Model matches are named `model.<label>`.
"""

from __future__ import annotations

from collections.abc import Callable, Generator, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Final, TypeAlias

from gateway.detect.encodings import decoded_turns
from gateway.detect.folding import fold
from gateway.detect.model import LEVELS, Level, TextModel, chunks
from gateway.detect.rules import Kind, Match, RuleSet

# The model's `distress` label (despair, exhaustion, hopelessness with no word of suicide)
# is a distress signal of the self-harm category.
CATEGORY_OF: Final = {"distress": "self_harm_suicide"}
WINDOW_TURNS: Final = 2
# A window joins three turns' words, and with them three chances of a look-alike: the
# model's threshold for a window is raised this share of the way to 1.
WINDOW_MARGIN: Final = 0.3
# A turn whose own score for a harmful category reaches this share of the category's
# threshold carries on a request of that category its window holds. On everyday messages
# (the training data's), the 99th percentile of each harmful score is 3.5 to 8.5% of its
# threshold: a turn that changes the subject leans to nothing.
CONTINUATION: Final = 0.25
WINDOW_TAIL_CHARS: Final = 500
WINDOW_HEAD_CHARS: Final = 1000


@dataclass(frozen=True, slots=True)
class Flags:
    """What the detectors found on the newest user turn."""

    harmful: tuple[Match, ...] = ()
    crisis: tuple[Match, ...] = ()
    """Confident crisis signals: helplines and care guidance."""
    distress: tuple[Match, ...] = ()
    """Recall-first crisis signals (a wide net): they only hold endings off the path."""
    suspected: tuple[Match, ...] = ()
    """Harmful categories the model leans to below its confident threshold (the harmful
    categories' wide net): a refusal of the turn is a strike that counts towards an ending
    only beside confident ones (`policy.strikes`). None of a category `harmful` holds."""

    @property
    def categories(self) -> tuple[str, ...]:
        """Every flagged category, harmful first, then suspected, then crisis."""
        matches = (*self.harmful, *self.suspected, *self.crisis)
        return tuple(dict.fromkeys(m.category for m in matches))


NO_FLAGS = Flags()

# What judging asks the model for: texts, each given as the folded pieces to score
# (`model.chunks`), and what it is sent back: each text's score of every label.
Texts: TypeAlias = list[list[str]]
Scores: TypeAlias = list[dict[str, float]]
# A judgement under way: it yields the texts it needs scored, is sent their scores, and
# returns the flags (`judge` drives it at once; `batching` scores many requests' together).
Judging: TypeAlias = Generator[Texts, Scores, Flags]


def window(text: str, earlier: Sequence[str]) -> str:
    """The newest turn's window: the ends of the turns before it, then its own start."""
    before = _before(earlier)
    return f"{before}\n{text[:WINDOW_HEAD_CHARS]}" if before else ""


def _before(earlier: Sequence[str]) -> str:
    """The ends of the turns before the newest, one a line: what its window adds to it."""
    return "\n".join(turn[-WINDOW_TAIL_CHARS:] for turn in earlier[-WINDOW_TURNS:] if turn)


def plain_turns(text: str, earlier: Sequence[str]) -> tuple[str, list[str]]:
    """The newest turn and the turns before it with what they hold in base64 or hex decoded
    (`encodings`), as the model will read them: what is judged. Decoded once: a text
    encoded twice is read as its first decoding."""
    return decoded_turns(text, earlier, 4 * WINDOW_TAIL_CHARS)


def work(text: str, earlier: Sequence[str]) -> int:
    """How many characters the rules read for this turn: the turn, its window, and what the
    window adds."""
    joined = window(text, earlier)
    return len(text) + (len(joined) + len(_before(earlier)) if joined else 0)


@dataclass(frozen=True, slots=True)
class _ToRead:
    """A folded text, its second reading when it holds chat spellings (`respelling`),
    accents that hide a keyword (`accents`) or words a space breaks (`rejoining`), and the
    pieces the model scores: those of both readings."""

    folded: str
    respelled: str | None
    pieces: list[str]


def _to_read(
    rules: RuleSet, folded: str, pieces_of: Callable[[str], list[str]], *, alone: bool = False
) -> _ToRead:
    """`folded` to read, with `pieces_of` each reading as the pieces the model scores.
    Words a space breaks are joined in the turn `alone` only: looking for them costs some
    12 µs a turn, and a window holds the turns' own words."""
    respelled = rules.spellings.respell(folded)
    respelled = rules.unhidden(respelled or folded) or respelled
    if alone:
        respelled = rules.rejoined(respelled or folded) or respelled
    pieces = pieces_of(folded)
    if respelled is not None:
        pieces += pieces_of(respelled)
    return _ToRead(folded, respelled, pieces)


def _whole(text: str) -> list[str]:
    return [text]


@dataclass(frozen=True, slots=True)
class _Reading:
    """What the rules and the model find in one text."""

    harmful: tuple[Match, ...]
    crisis: tuple[Match, ...]
    scores: Mapping[str, float]


def judge(rules: RuleSet, text: str, earlier: Sequence[str] = ()) -> Flags:
    """The flags of the newest user turn `text`, read alone and in its window.

    A hit in the window counts only when the earlier turns alone do not hold it: the
    newest turn completes it. A request flagged two turns ago does not flag every turn
    after it, nor does a crisis signal stand longer than policy says.
    """
    steps = judging(rules, text, earlier)
    try:
        texts = next(steps)
        while True:
            texts = steps.send(model_scores(rules.model, texts))
    except StopIteration as done:
        flags: Flags = done.value
        return flags


def model_scores(model: TextModel | None, texts: Texts) -> Scores:
    """The model's scores of each text (its best piece's), in one batch."""
    if model is None:
        return [{} for _ in texts]
    return model.score(texts)


def judging(rules: RuleSet, text: str, earlier: Sequence[str] = ()) -> Judging:
    """`judge` as a generator: it yields the texts the model must score (at most twice)
    and returns the flags."""
    if not text:
        return NO_FLAGS
    joined = window(text, earlier)
    # The turn is scored whole and in pieces (`model.chunks`), its window whole: the
    # window's pieces would be the turns' own sentences, scored already.
    texts = [_to_read(rules, fold(text, rules.words), chunks, alone=True)]
    if joined:
        texts.append(_to_read(rules, fold(joined, rules.words), _whole))
    alone, *rest = yield from _read(rules, texts)
    whole = rest[0] if rest else None
    harmful = list(alone.harmful)
    crisis = list(alone.crisis)
    over = {level: _over(rules.model, alone, level) for level in LEVELS}
    if whole is not None:
        added = {
            level: _over(rules.model, whole, level, WINDOW_MARGIN) - over[level] for level in LEVELS
        }
        if (
            set(whole.harmful) - set(harmful)
            or set(whole.crisis) - set(crisis)
            or any(added.values())
        ):
            # Only what the earlier turns alone do not hold is the newest turn's.
            before_text = _to_read(rules, fold(_before(earlier), rules.words), _whole)
            (before,) = yield from _read(rules, [before_text])
            harmful += [m for m in whole.harmful if m not in before.harmful]
            crisis += [m for m in whole.crisis if m not in before.crisis]
            for level in LEVELS:
                over[level] |= added[level] - _over(rules.model, before, level)
        harmful += _carried_on(rules.model, alone, whole, over["harmful"], harmful)
    distress = list(crisis)
    # The model's crisis categories, the one it reads most strongly first: the first
    # category of a turn chooses its helplines and guidance.
    strength = {**(whole.scores if whole is not None else {}), **alone.scores}
    harmful += _matches(over["harmful"], "harmful")
    crisis += _matches(over["crisis"], "crisis", strength=strength)
    distress += crisis + _matches(over["distress"], "crisis", strength=strength)
    confident = {m.category for m in harmful}
    suspected = _matches(over["suspected"] - confident, "harmful", "model.suspected")
    if not (harmful or distress or suspected):
        return NO_FLAGS
    return Flags(_once(harmful), _once(crisis), _once(distress), tuple(suspected))


def _read(rules: RuleSet, texts: Sequence[_ToRead]) -> Generator[Texts, Scores, list[_Reading]]:
    """What the rules find in each folded text (either reading), and the model's scores over
    its pieces (asked for all texts at once: yielded, unless there is no model)."""
    scores: Scores = [{} for _ in texts]
    if rules.model is not None:
        scores = yield [text.pieces for text in texts]
    return [
        _Reading(*_scanned(rules, text), found) for text, found in zip(texts, scores, strict=True)
    ]


def _scanned(rules: RuleSet, text: _ToRead) -> tuple[tuple[Match, ...], tuple[Match, ...]]:
    """The harmful and crisis rule matches in a text, read as written and respelled."""
    harmful, crisis = rules.scan_user_turn(text.folded)
    if text.respelled is None:
        return harmful, crisis
    more_harmful, more_crisis = rules.scan_user_turn(text.respelled)
    return _once((*harmful, *more_harmful)), _once((*crisis, *more_crisis))


def _over(
    model: TextModel | None, reading: _Reading, level: Level, margin: float = 0.0
) -> set[str]:
    """The labels whose score reaches their threshold at `level`, raised by `margin` of the
    way to 1."""
    return set() if model is None else model.over(reading.scores, level, margin)


def _carried_on(
    model: TextModel | None,
    alone: _Reading,
    whole: _Reading,
    over: set[str],
    flagged: Sequence[Match],
) -> list[Match]:
    """The window's harmful hits that the newest turn alone leans to (`CONTINUATION`) and
    does not already flag: a request it carries on. Adds the model's labels to `over`."""
    if model is None:
        return []
    leaning = model.leaning(alone.scores, "harmful", CONTINUATION)
    held = {m.category for m in flagged} | over
    rules = [m for m in whole.harmful if m.category in leaning - held]
    labels = (_over(model, whole, "harmful", WINDOW_MARGIN) & leaning) - held
    over |= labels
    return rules


def _matches(
    labels: set[str], kind: Kind, name: str = "model", strength: Mapping[str, float] | None = None
) -> list[Match]:
    """Matches for the model's `labels`, by name, or strongest first given their scores."""
    scores = strength or {}
    return [
        Match(f"{name}.{label}", CATEGORY_OF.get(label, label), kind)
        for label in sorted(labels, key=lambda label: (-scores.get(label, 0.0), label))
    ]


def _once(matches: Iterable[Match]) -> tuple[Match, ...]:
    return tuple(dict.fromkeys(matches))
