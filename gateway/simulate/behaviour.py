"""What the simulated model decides to say: pure functions from a conversation to a reply."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Final, Literal

import orjson

from gateway.simulate import answers, phrases
from gateway.simulate.settings import RequestOptions

END_TOOL: Final = "end_conversation"

ReplyKind = Literal["answer", "refusal", "tool_use"]

_VOCABULARY_TEXT: Final = (
    "the quiet river carries light across a valley where morning settles on old stone "
    "bridges and patient gardens grow beside open windows while careful hands write "
    "simple notes about clear ideas that travel far through gentle weather and bright "
    "fields under wide skies with steady wind"
)
_VOCABULARY: Final = tuple(_VOCABULARY_TEXT.split())
_PIECE: Final = re.compile(r"\s*\S+")
_WORDS: Final = re.compile(r"\S+")


@dataclass(frozen=True)
class ToolSpec:
    """A tool the request offers: its name and its first required string property."""

    name: str
    argument: str | None = None


@dataclass(frozen=True)
class Conversation:
    """The parts of a request that the simulated model looks at, whatever the dialect."""

    user_text: str
    """User-written text of the newest turn; empty when that turn only returns tool output."""
    assistant_texts: tuple[str, ...] = ()
    """Text (refusals included) of each earlier assistant turn, oldest first."""
    tools: tuple[ToolSpec, ...] = ()
    input_tokens: int = 1
    """A rough token count of the whole request (words of its text)."""
    seed_text: str = ""
    """What a benign answer is derived from; the user text, or tool output when there is none."""


@dataclass(frozen=True)
class ToolCall:
    """One tool call the model makes."""

    name: str
    arguments: Mapping[str, str] = field(default_factory=dict)

    def arguments_json(self) -> str:
        """The arguments as the JSON string both APIs carry."""
        return orjson.dumps(dict(self.arguments)).decode()


@dataclass(frozen=True)
class Reply:
    """The model's answer, ready for any dialect to render.

    ``kind`` is ``refusal`` only for a provider-signalled refusal; a refusal in the
    ``text`` style is an ordinary ``answer`` whose text refuses.
    """

    kind: ReplyKind
    text: str
    input_tokens: int
    output_tokens: int
    tool_call: ToolCall | None = None
    language: phrases.Language = "en"
    harm: str | None = None
    """The harmful-request category the model reacted to, if any."""

    def pieces(self) -> list[str]:
        """The text split into streamable deltas, one word (with its leading space) each."""
        return _PIECE.findall(self.text)


def count_words(text: str) -> int:
    """The number of whitespace-separated words in ``text``."""
    return len(_WORDS.findall(text))


def benign_text(seed: str, words: int) -> str:
    """A deterministic sentence of ``words`` words derived from ``seed``."""
    stream = hashlib.shake_128(seed.encode()).digest(words)
    chosen = [_VOCABULARY[byte % len(_VOCABULARY)] for byte in stream]
    chosen[0] = chosen[0].capitalize()
    return " ".join(chosen) + "."


def prior_refusals(conversation: Conversation) -> int:
    """How many earlier assistant turns were this simulator's refusals."""
    return sum(phrases.is_own_refusal(text) for text in conversation.assistant_texts)


def _tool(conversation: Conversation, name: str) -> ToolSpec | None:
    return next((tool for tool in conversation.tools if tool.name == name), None)


def _mentioned_tool(conversation: Conversation) -> ToolSpec | None:
    for tool in conversation.tools:
        mention = rf"(?<!\w){re.escape(tool.name)}(?!\w)"
        if tool.name != END_TOOL and re.search(mention, conversation.user_text, re.IGNORECASE):
            return tool
    return None


def _reply(
    conversation: Conversation,
    kind: ReplyKind,
    text: str,
    *,
    tool_call: ToolCall | None = None,
    language: phrases.Language = "en",
    harm: str | None = None,
) -> Reply:
    output = count_words(text) + (count_words(tool_call.arguments_json()) + 8 if tool_call else 0)
    return Reply(
        kind=kind,
        text=text,
        input_tokens=conversation.input_tokens,
        output_tokens=max(output, 1),
        tool_call=tool_call,
        language=language,
        harm=harm,
    )


def decide(
    conversation: Conversation,
    options: RequestOptions,
    headers: Mapping[str, str] | None = None,
) -> Reply:
    """Decide the reply to ``conversation``; ``headers`` are echoed when asked to."""
    settings = options.settings
    if options.echo_headers:
        echoed = {name.lower(): value for name, value in (headers or {}).items()}
        text = orjson.dumps(echoed, option=orjson.OPT_SORT_KEYS).decode()
        return _reply(conversation, "answer", text)

    language = phrases.detect_language(conversation.user_text)
    harm = phrases.harmful_category(conversation.user_text)
    end_tool = _tool(conversation, END_TOOL)
    asked = phrases.asks_to_end(conversation.user_text)
    if end_tool is not None and (
        (harm is not None and prior_refusals(conversation) >= settings.end_after_refusals)
        or asked
        or settings.end_all
    ):
        reason = (
            "persistent harmful requests"
            if harm
            else "the user asked to end it"
            if asked
            else "the model chose to end it"
        )
        arguments = {end_tool.argument: reason} if end_tool.argument else {}
        call = ToolCall(END_TOOL, arguments)
        text = phrases.ENDINGS[language]
        return _reply(conversation, "tool_use", text, tool_call=call, language=language, harm=harm)

    if settings.refuse_all or harm is not None:
        kind: ReplyKind = "refusal" if settings.refusal_style == "signal" else "answer"
        text = phrases.REFUSALS[language]
        return _reply(conversation, kind, text, language=language, harm=harm)

    tool = _mentioned_tool(conversation)
    if tool is not None:
        call = ToolCall(tool.name, {tool.argument or "query": "example"})
        return _reply(conversation, "tool_use", "", tool_call=call, language=language)

    words = options.events if options.events is not None else settings.reply_words
    if words is None:
        text = answers.answer(conversation.user_text, language)
        return _reply(conversation, "answer", text, language=language)
    # An exact length was asked for (load and streaming tests): filler words of that count.
    seed = conversation.seed_text or conversation.user_text
    return _reply(conversation, "answer", benign_text(seed, words), language=language)
