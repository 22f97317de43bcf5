r"""Rule packs: YAML files of categories and patterns, each rule proven by its examples.

A rule names `keywords`: literal stems one of which any text it matches must contain
(checked on its examples at load). All keywords of a kind go into one Aho-Corasick
automaton; a scan is one pass of it over the text, and only the few rules it arms run
their pattern. A rule without keywords runs on every text (`lastword rules test` lists
them: they cost every request).

Every pattern is proven linear at load (`linear.prove_linear`; a proof is remembered across
processes, `proofs`): Python's `re` backtracks, and one unbounded repeat in the wrong place
(`[.!?:] \W*` on a text of `. . . .`) made a 6 KB message hold a worker for seconds. So the
pattern language is restricted, checked on the parsed pattern: every repeat has a maximum,
so one match attempt reads a bounded span of text, and no repeat may match one text in many
ways (`(a{1,9}){1,9}b`). A search is then at most a constant amount of work per character,
by construction rather than by the luck of the texts tried. The bounded span also lets a
pattern be searched only around its keywords' hits (`windows`), exactly: a long text with a
few hits costs little. RE2 was not an option: no lookarounds, and an ASCII-only `\b`/`\w`
that every fr/es/de rule relies on.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import importlib.resources
import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, Literal

import ahocorasick
import yaml

from gateway import yaml_text
from gateway.detect.accents import unhidden
from gateway.detect.linear import NotLinear
from gateway.detect.model import Levels, ModelError, TextModel, load_model, model_file
from gateway.detect.proofs import keep, known_starts, proven
from gateway.detect.rejoining import rejoined
from gateway.detect.respelling import NO_SPELLINGS, Spellings, load_spellings
from gateway.detect.windows import Windows, keyword_windows, search_at_starts, search_windows
from gateway.detect.wordbreaks import shipped_ranks
from gateway.errors import GatewayError

# `harmful`, `crisis` and `end_request` read user turns; `refusal` and `care` read answers.
Kind = Literal["harmful", "crisis", "refusal", "care", "end_request"]
# What `load_rules` was given: enough for another process to load the same rules.
RuleSource = tuple[Path | None, bool, Levels | None]
KINDS: tuple[Kind, ...] = ("harmful", "crisis", "refusal", "care", "end_request")


def _shipped_rules_dir() -> Path:
    """The shipped rule packs: the package's own `rules/`, else the checkout's top-level one.

    A wheel carries the top-level `rules/` as package data (setup.py), wherever it is
    installed; a checkout, or an editable install of one, reads the folder itself.
    """
    packaged = importlib.resources.files("gateway") / "rules"
    if isinstance(packaged, Path) and packaged.is_dir():
        return packaged
    return Path(__file__).resolve().parents[2] / "rules"


DEFAULT_RULES_DIR = _shipped_rules_dir()
_FLAGS = re.IGNORECASE | re.UNICODE
# The plans (`CompiledKind._plan`) of the last few texts up to this length are kept.
_PLANNED_CHARS = 4096
_PLANS_KEPT = 8
# How far before and after its match a rule's `unless` pattern is looked for. What makes a
# match something else stands beside it, before it as often as after ("sent it to my boss
# by mistake, I want to die"; "a video game where you plant bombs"), and a text that
# merely holds it somewhere else does not excuse the match.
UNLESS_CHARS = 160


# Compiled patterns and start automata are kept per pattern text, for at least this many.
_PATTERNS_KEPT = 4096


@functools.lru_cache(maxsize=_PATTERNS_KEPT)
def _regex(pattern: str) -> re.Pattern[str]:
    """`pattern` compiled with the packs' flags, once per process: a pattern is read at
    load, by its kind and by the user-turn scan, and `re`'s own cache holds fewer patterns
    than the packs have (a start-up compiled each pattern three times)."""
    return re.compile(pattern, _FLAGS)


class RuleError(GatewayError):
    """A rule pack is invalid; the message names the file and the rule."""


@dataclass(frozen=True, slots=True)
class Rule:
    """One pattern of one category, with the examples that prove it."""

    id: str
    category: str
    kind: Kind
    lang: str
    pattern: str
    match: tuple[str, ...]
    no_match: tuple[str, ...]
    keywords: tuple[str, ...] = ()
    unless: str | None = None
    """A pattern that, found within `UNLESS_CHARS` of the match, makes it something else."""


@dataclass(frozen=True, slots=True)
class Match:
    """A rule that matched a text."""

    rule_id: str
    category: str
    kind: Kind


class CompiledKind:
    """Every rule of one kind: one keyword automaton arming per-rule patterns.

    An armed pattern is searched only where a match can start: around its keywords' hits
    (`windows.keyword_windows`), so a long text with a few hits costs little; and within
    those windows, only where one of the texts its matches start with begins (`starts`).
    """

    def __init__(self, rules: Sequence[Rule]) -> None:
        self.rules = tuple(rules)
        self._patterns = [_regex(rule.pattern) for rule in self.rules]
        self._unless = [_compiled(rule.unless) for rule in self.rules]
        costs = [proven(rule.pattern, _FLAGS) for rule in self.rules]
        self._reaches = [cost.reach for cost in costs]
        self._behinds = [cost.behind for cost in costs]
        self._always = frozenset(i for i, rule in enumerate(self.rules) if not rule.keywords)
        self._starts = [_starts_automaton(rule.pattern) for rule in self.rules]
        armed_by: dict[str, set[int]] = {}
        for i, rule in enumerate(self.rules):
            for keyword in rule.keywords:
                armed_by.setdefault(keyword.casefold(), set()).add(i)
        self._plans: dict[str, Windows] = {}
        self._automaton: Any = None
        if armed_by:
            self._automaton = ahocorasick.Automaton()
            for keyword, indexes in armed_by.items():
                self._automaton.add_word(keyword, (len(keyword), frozenset(indexes)))
            self._automaton.make_automaton()

    def armed(self, text: str) -> list[int]:
        """The indexes of the rules whose pattern must run on `text`, in rule order."""
        return sorted(self._plan(text))

    def _plan(self, text: str, folded: str | None = None) -> Windows:
        """The armed rules, each with the spans where its matches may start (the plans of
        the last few short texts are kept: a turn's cost is weighed, then it is scanned);
        `folded` is `text` casefolded, when the caller has it."""
        plan = self._plans.get(text)
        if plan is not None:
            return plan
        plan = (
            {}
            if self._automaton is None
            else keyword_windows(
                self._automaton,
                text,
                text.casefold() if folded is None else folded,
                self._reaches,
                self._behinds,
            )
        )
        whole = [(0, len(text))]
        plan |= {i: whole for i in self._always}
        if len(text) <= _PLANNED_CHARS:
            with contextlib.suppress(RuntimeError, KeyError, StopIteration):
                # A judging thread may trim it at the same moment: then one more is kept.
                while len(self._plans) >= _PLANS_KEPT:
                    del self._plans[next(iter(self._plans))]
            self._plans[text] = plan
        return plan

    def scan(self, text: str) -> tuple[Match, ...]:
        """The rules that match somewhere in `text`, each once, in rule order."""
        folded = text.casefold()
        plan = self._plan(text, folded)
        out: list[Match] = []
        # Start texts are found in the casefolded text: at the same positions, unless
        # folding changed its length (`ß` to `ss`).
        aligned = len(folded) == len(text)
        for i in sorted(plan):
            anchors = self._starts[i]
            if anchors is not None and aligned:
                found = search_at_starts(self._patterns[i], text, folded, plan[i], anchors)
            else:
                found = search_windows(self._patterns[i], text, plan[i], self._reaches[i])
            if found is not None and not excused(self._unless[i], text, found):
                rule = self.rules[i]
                out.append(Match(rule.id, rule.category, rule.kind))
        return tuple(out)


def _compiled(pattern: str | None) -> re.Pattern[str] | None:
    return None if pattern is None else _regex(pattern)


def excused(unless: re.Pattern[str] | None, text: str, found: re.Match[str]) -> bool:
    """Whether `unless` is found within `UNLESS_CHARS` of the match `found` in `text`: the
    rule's first match then does not count."""
    if unless is None:
        return False
    first = max(0, found.start() - UNLESS_CHARS)
    return unless.search(text, first, found.end() + UNLESS_CHARS) is not None


def rule_matches(rule: Rule, text: str) -> bool:
    """Whether `rule` matches `text` searched whole, its `unless` weighed: what a scan of the
    rule alone finds (the reference its examples are proven against)."""
    found = _regex(rule.pattern).search(text)
    return found is not None and not excused(_compiled(rule.unless), text, found)


def starts_anywhere(rule: Rule) -> bool:
    """Whether no short texts begin every match of `rule` (`starts`): its pattern is then
    tried at every position near its keywords, several times the work."""
    return known_starts(rule.pattern, _FLAGS) is None


def forget_start_texts() -> None:
    """Build the start automata again at the next load (tests: another proof file)."""
    _starts_automaton.cache_clear()


@functools.lru_cache(maxsize=_PATTERNS_KEPT)
def _starts_automaton(pattern: str) -> tuple[Any, bool] | None:
    """An automaton of the texts `pattern`'s matches start with (each mapped to its length;
    None when it has none but the text's start), and whether a match may start the text;
    None when its matches may start anywhere."""
    found = known_starts(pattern, _FLAGS)
    if found is None:
        return None
    automaton = None
    if found.texts:
        automaton = ahocorasick.Automaton()
        for text in found.texts:
            automaton.add_word(text, len(text))
        automaton.make_automaton()
    return automaton, found.at_start


class RuleSet:
    """All loaded rules, compiled by kind, and the model read beside them (`model.py`);
    `version` is a hash of their source."""

    def __init__(
        self,
        rules: Sequence[Rule],
        version: str,
        model: TextModel | None = None,
        source: RuleSource | None = None,
        spellings: Spellings = NO_SPELLINGS,
    ) -> None:
        self.rules = tuple(rules)
        self.version = version
        self.model = model
        self.source = source
        """How `load_rules` was called, when it built this set (`offloop` loads it again)."""
        self.by_kind = {kind: CompiledKind([r for r in rules if r.kind == kind]) for kind in KINDS}
        self.words = vocabulary(self.rules)
        """The words the packs are written in: spaced-out letters are cut back into them."""
        self.spellings = spellings.with_words(self.words)
        """Chat spellings user turns are also read in (`respelling`), the packs' words typed
        with spelled-out letters among them."""
        # User turns are scanned for both kinds at once: one pass of one automaton.
        self._user = CompiledKind([r for r in rules if r.kind in ("harmful", "crisis")])
        self._weighed: dict[str, str | None] = {}
        """Accented words weighed for `unhidden`, with their plain reading or None."""
        self._keyword_parts = frozenset(
            part
            for rule in rules
            if rule.kind in ("harmful", "crisis")
            for keyword in rule.keywords
            if " " in keyword.strip()
            for part in keyword.casefold().split()
        )
        """The words of the harmful and crisis keywords of several words (`soft target`)."""

    def scan_user_turn(self, text: str) -> tuple[tuple[Match, ...], tuple[Match, ...]]:
        """Harmful-request and crisis matches in a user turn, in one pass."""
        found = self._user.scan(text)
        if not found:
            return (), ()
        harmful = tuple(m for m in found if m.kind == "harmful")
        return harmful, tuple(m for m in found if m.kind == "crisis")

    def unhidden(self, folded: str) -> str | None:
        """`folded` with the words whose accents hide a harmful or crisis keyword read plain
        (`accents`), or None when none does."""
        return unhidden(
            folded, self._user._automaton, self.words, self._weighed, self._keyword_parts
        )

    def rejoined(self, folded: str) -> str | None:
        """`folded` with the words a space breaks joined back (`rejoining`), or None when
        none is."""
        return rejoined(folded, self._user._automaton, self.words)

    def user_turn_work(self, folded: str) -> int:
        """How many characters the user-turn rules would search in `folded`, summed over
        the rules: what a scan costs, about (a few hundred nanoseconds a character)."""
        return sum(
            last - first for spans in self._user._plan(folded).values() for first, last in spans
        )

    def scan(self, text: str, kind: Kind) -> tuple[Match, ...]:
        """The rules of `kind` that match `text`."""
        return self.by_kind[kind].scan(text)

    def categories(self, kind: Kind) -> tuple[str, ...]:
        """The categories of one kind, sorted."""
        return tuple(sorted({r.category for r in self.rules if r.kind == kind}))


_WORD = re.compile(r"[^\W\d_]{2,24}")
# Words of one letter, in the supported languages: others are fragments of patterns.
_ONE_LETTER_WORDS = frozenset("aàeiouyæ")


def vocabulary(rules: Iterable[Rule]) -> frozenset[str]:
    """Every word of the rules' examples and keywords, casefolded, the shipped word list
    and the one-letter words: `wordbreaks.segment` cuts letters written with no breaks into
    them."""
    words: set[str] = set(_ONE_LETTER_WORDS) | set(shipped_ranks())
    for rule in rules:
        for text in (*rule.match, *rule.no_match, *rule.keywords):
            words.update(_WORD.findall(text.casefold()))
    return frozenset(words)


def _strings(value: Any, where: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
        raise RuleError(f"{where}: needs a non-empty list of example strings")
    return tuple(value)


def _check_pattern(pattern: str, what: str) -> None:
    """Raise RuleError unless `pattern` compiles and is provably linear."""
    try:
        _regex(pattern)
    except re.error as exc:
        raise RuleError(f"{what}: bad pattern: {exc}") from None
    try:
        proven(pattern, _FLAGS)
    except NotLinear as exc:
        raise RuleError(f"{what}: not provably linear: {exc}") from None


def _rule(raw: Any, category: str, kind: Kind, where: str) -> Rule:
    if not isinstance(raw, dict) or not isinstance(raw.get("id"), str):
        raise RuleError(f"{where}: every rule needs an `id`")
    rid = raw["id"]
    pattern = raw.get("pattern")
    if not isinstance(pattern, str) or not pattern:
        raise RuleError(f"{where}: rule {rid}: needs a `pattern`")
    _check_pattern(pattern, f"{where}: rule {rid}: pattern")
    unless = raw.get("unless")
    if unless is not None:
        if not isinstance(unless, str) or not unless:
            raise RuleError(f"{where}: rule {rid}: `unless` must be a pattern")
        _check_pattern(unless, f"{where}: rule {rid}: `unless` pattern")
    examples = raw.get("examples")
    if not isinstance(examples, dict):
        raise RuleError(f"{where}: rule {rid}: has no examples (`match` and `no_match`)")
    keywords = raw.get("keywords") or []
    if not isinstance(keywords, list) or not all(isinstance(k, str) and k for k in keywords):
        raise RuleError(f"{where}: rule {rid}: `keywords` must be a list of strings")
    rule = Rule(
        id=rid,
        category=category,
        kind=kind,
        lang=str(raw.get("lang", "any")),
        pattern=pattern,
        match=_strings(examples.get("match"), f"{where}: rule {rid}: examples.match"),
        no_match=_strings(examples.get("no_match"), f"{where}: rule {rid}: examples.no_match"),
        keywords=tuple(keywords),
        unless=unless,
    )
    failures = [e for e in rule.match if not rule_matches(rule, e)]
    failures += [e for e in rule.no_match if rule_matches(rule, e)]
    if failures:
        raise RuleError(f"{where}: rule {rid}: examples fail: {failures!r}")
    folded = [k.casefold() for k in rule.keywords]
    unarmed = [e for e in rule.match if folded and not any(k in e.casefold() for k in folded)]
    if unarmed:
        raise RuleError(f"{where}: rule {rid}: examples hold none of its keywords: {unarmed!r}")
    return rule


def parse_pack(text: str, where: str) -> list[Rule]:
    """The rules of one pack file's text."""
    try:
        data = yaml_text.safe_load(text)
    except yaml.YAMLError as exc:
        raise RuleError(f"{where}: not valid YAML: {exc}") from None
    if not isinstance(data, dict) or not isinstance(data.get("categories"), list):
        raise RuleError(f"{where}: a rule pack needs a `categories` list")
    rules: list[Rule] = []
    for cat in data["categories"]:
        if not isinstance(cat, dict) or not isinstance(cat.get("name"), str):
            raise RuleError(f"{where}: every category needs a `name`")
        kind = cat.get("kind")
        if kind not in KINDS:
            raise RuleError(f"{where}: category {cat['name']}: `kind` must be one of {KINDS}")
        for raw in cat.get("rules") or ():
            rules.append(_rule(raw, cat["name"], kind, where))
    return rules


def pack_files(directory: Path) -> list[Path]:
    """The rule pack files of a directory (`*.rules.yaml`), sorted."""
    return sorted(directory.glob("*.rules.yaml"))


def load_rules(
    directory: Path | None = None, model: bool = True, thresholds: Levels | None = None
) -> RuleSet:
    """Load and prove every pack in `directory`, and the model and chat spellings that go
    with them (the folder's own `model.npz` and `spellings.yaml`, else the shipped ones; no
    model when `model` is false), with `thresholds` replacing some of the model's own;
    raise RuleError naming the first bad rule, or the file that cannot be read."""
    directory = directory or DEFAULT_RULES_DIR
    files = pack_files(directory)
    if not files:
        raise RuleError(f"{directory}: no rule packs (*.rules.yaml)")
    digest = hashlib.sha256()
    texts: list[tuple[str, str]] = []
    for path in files:
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise RuleError(f"{path.name}: cannot be read as UTF-8 text: {exc}") from None
        digest.update(text.encode())
        texts.append((text, path.name))
    try:
        spellings = load_spellings(directory, DEFAULT_RULES_DIR)
    except ValueError as exc:
        raise RuleError(str(exc)) from None
    digest.update(spellings.version.encode())
    text_model = None
    if model:
        try:
            text_model = load_model(model_file(directory)).with_thresholds(thresholds or {})
        except ModelError as exc:
            raise RuleError(str(exc)) from None
        digest.update(text_model.version.encode())
        digest.update(json.dumps(text_model.thresholds, sort_keys=True).encode())
    key = (str(directory.resolve()), digest.hexdigest(), model)
    if key in _BUILT:
        return _BUILT[key]
    rules = [rule for text, name in texts for rule in parse_pack(text, name)]
    _unique(rules)
    source = (directory, model, thresholds)
    ruleset = RuleSet(rules, digest.hexdigest()[:12], text_model, source, spellings)
    keep()  # the proofs and start texts read, for the next process
    while len(_BUILT) >= _BUILT_KEPT:
        del _BUILT[next(iter(_BUILT))]
    _BUILT[key] = ruleset
    return ruleset


# Rule sets built in this process, by folder, source digest and model: rules reloaded on
# unchanged files, or another gateway started in the process (every test's), take the set
# already built instead of parsing and proving the packs again (about 0.3 s).
# The rules of a set never change once it is built; the oldest set goes first.
_BUILT: dict[tuple[str, str, bool], RuleSet] = {}
_BUILT_KEPT: Final = 4


def forget_rule_sets() -> None:
    """Build rule sets afresh at the next load, as a new process does (tests of proofs)."""
    _BUILT.clear()


def _unique(rules: Iterable[Rule]) -> None:
    seen: set[str] = set()
    for rule in rules:
        if rule.id in seen:
            raise RuleError(f"rule id {rule.id} is defined twice")
        seen.add(rule.id)
