"""Canonical turns and path fingerprints: cosmetic variants agree, real edits do not."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

import gateway.conversation
from gateway.app import build_policy
from gateway.config import Settings
from gateway.conversation import conversation_id, normalize_text, path_fingerprints
from gateway.detect import load_rules
from gateway.dialects import ANTHROPIC, OPENAI_CHAT, OPENAI_RESPONSES
from gateway.inspection import Guard
from gateway.store import open_store

BASE = [
    {"role": "user", "content": "Hello there, how are you?"},
    {"role": "assistant", "content": "Fine, thanks."},
    {"role": "user", "content": "Tell me about café culture."},
]


def anthropic(messages: list[dict[str, Any]], system: Any = "Be kind.") -> bytes:
    body: dict[str, Any] = {"model": "m", "max_tokens": 10, "messages": messages}
    if system is not None:
        body["system"] = system
    return orjson.dumps(body)


def fingerprints(body: bytes, dialect: Any = ANTHROPIC, tenant: str = "t1") -> list[str]:
    request = dialect.parse_request(body)
    return path_fingerprints(tenant, request.system, request.turns, request.end_user)


REFERENCE = fingerprints(anthropic(BASE))


def _blocks(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{**m, "content": [{"type": "text", "text": m["content"]}]} for m in messages]


def _replace(index: int, text: str) -> list[dict[str, Any]]:
    return [({**m, "content": text} if i == index else m) for i, m in enumerate(BASE)]


COSMETIC = {
    "pretty-printed JSON": orjson.dumps(orjson.loads(anthropic(BASE)), option=orjson.OPT_INDENT_2),
    "keys reordered": orjson.dumps(
        {"messages": BASE, "system": "Be kind.", "max_tokens": 99, "model": "other"}
    ),
    "list of one text block": anthropic(_blocks(BASE)),
    "system as block list": anthropic(BASE, system=[{"type": "text", "text": "Be kind."}]),
    "NFD unicode": anthropic(_replace(2, "Tell me about cafe\u0301 culture.")),
    "whitespace runs": anthropic(_replace(0, "  Hello   there,\n\nhow are you? ")),
    "text split in two blocks": anthropic(
        [
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "Hello there,"},
                    {"type": "text", "text": "how are you?"},
                ],
            },
            *BASE[1:],
        ]
    ),
    "stream flag": orjson.dumps({**orjson.loads(anthropic(BASE)), "stream": True}),
}


@pytest.mark.parametrize("body", COSMETIC.values(), ids=COSMETIC.keys())
def test_cosmetic_variants_give_the_same_fingerprints(body: bytes) -> None:
    """A difference a person would not call a different message changes nothing."""
    assert fingerprints(body) == REFERENCE


def test_the_same_history_through_each_api_gives_the_same_fingerprints() -> None:
    """Anthropic, Chat Completions and Responses bodies of one history agree."""
    chat = orjson.dumps(
        {"model": "gpt", "messages": [{"role": "system", "content": "Be kind."}, *BASE]}
    )
    responses = orjson.dumps({"model": "gpt", "instructions": "Be kind.", "input": BASE})
    assert fingerprints(chat, OPENAI_CHAT) == REFERENCE
    assert fingerprints(responses, OPENAI_RESPONSES) == REFERENCE


def test_tool_calls_agree_across_apis_whatever_their_ids() -> None:
    """A tool call and its result give the same turns through either API."""
    ant = anthropic(
        [
            {"role": "user", "content": "weather?"},
            {
                "role": "assistant",
                "content": [
                    {"type": "tool_use", "id": "toolu_1", "name": "get", "input": {"b": 2, "a": 1}}
                ],
            },
            {
                "role": "user",
                "content": [{"type": "tool_result", "tool_use_id": "toolu_1", "content": "sunny"}],
            },
        ],
        system=None,
    )
    chat = orjson.dumps(
        {
            "model": "gpt",
            "messages": [
                {"role": "user", "content": "weather?"},
                {
                    "role": "assistant",
                    "content": None,
                    "tool_calls": [
                        {
                            "id": "call_9",
                            "type": "function",
                            "function": {"name": "get", "arguments": '{"a": 1, "b": 2}'},
                        }
                    ],
                },
                {"role": "tool", "tool_call_id": "call_9", "content": "sunny"},
            ],
        }
    )
    assert fingerprints(ant) == fingerprints(chat, OPENAI_CHAT)


def test_images_agree_between_base64_source_and_data_url() -> None:
    """An inline image hashes the same as an Anthropic source and an OpenAI data URL."""
    ant = anthropic(
        [
            {
                "role": "user",
                "content": [
                    {
                        "type": "image",
                        "source": {"type": "base64", "media_type": "image/png", "data": "QUJD"},
                    },
                    {"type": "text", "text": "what is this?"},
                ],
            }
        ],
        system=None,
    )
    chat = orjson.dumps(
        {
            "model": "gpt",
            "messages": [
                {
                    "role": "user",
                    "content": [
                        {"type": "image_url", "image_url": {"url": "data:image/png;base64,QUJD"}},
                        {"type": "text", "text": "what is this?"},
                    ],
                }
            ],
        }
    )
    assert fingerprints(ant) == fingerprints(chat, OPENAI_CHAT)


REAL_EDITS = {
    "edited word": anthropic(_replace(2, "Tell me about tea culture.")),
    "other system prompt": anthropic(BASE, system="Be brief."),
    "no system prompt": anthropic(BASE, system=None),
    "roles swapped": anthropic([{**m, "role": "assistant"} for m in BASE[:1]] + BASE[1:]),
}


@pytest.mark.parametrize("body", REAL_EDITS.values(), ids=REAL_EDITS.keys())
def test_real_edits_change_the_fingerprint(body: bytes) -> None:
    """A different message, or another system prompt, is another path."""
    assert fingerprints(body)[-1] != REFERENCE[-1]


def test_an_edit_keeps_the_shared_prefix() -> None:
    """Editing the last turn keeps the fingerprints of the turns before it."""
    edited = fingerprints(anthropic(_replace(2, "Something else entirely.")))
    assert edited[:1] == REFERENCE[:1]
    assert edited[1] != REFERENCE[1]


def test_tenants_never_share_fingerprints() -> None:
    """The same history under two tenants has two unrelated chains."""
    other = fingerprints(anthropic(BASE), tenant="t2")
    assert not set(other) & set(REFERENCE)


def test_conversation_id_is_short_and_stable() -> None:
    """`conv_` + a short encoding of the root fingerprint, the same every time."""
    first = conversation_id(REFERENCE[0])
    assert first == conversation_id(fingerprints(anthropic(BASE))[0])
    assert first.startswith("conv_")
    assert len(first) == 5 + 24


def _chat(messages: list[dict[str, Any]], **extra: Any) -> bytes:
    system = {"role": "system", "content": "Be kind."}
    return orjson.dumps({"model": "gpt", "messages": [system, *messages], **extra})


ASSISTANT_REWRITES = {
    "assistant dropped": (anthropic([BASE[0], BASE[2]]), ANTHROPIC),
    "assistant re-sent empty (chat)": (
        _chat([BASE[0], {"role": "assistant", "content": ""}, BASE[2]]),
        OPENAI_CHAT,
    ),
    "refusal field instead of content (chat)": (
        _chat([BASE[0], {"role": "assistant", "content": None, "refusal": "No."}, BASE[2]]),
        OPENAI_CHAT,
    ),
    "assistant rewritten": (
        anthropic([BASE[0], {"role": "assistant", "content": "Anything at all."}, BASE[2]]),
        ANTHROPIC,
    ),
    "assistant inserted": (
        anthropic(
            [
                {"role": "assistant", "content": "Hi! I am your assistant."},
                BASE[0],
                {"role": "assistant", "content": "one"},
                {"role": "assistant", "content": "two"},
                BASE[2],
            ]
        ),
        ANTHROPIC,
    ),
    "item_reference replay (responses)": (
        orjson.dumps(
            {
                "model": "gpt",
                "instructions": "Be kind.",
                "input": [BASE[0], {"type": "item_reference", "id": "msg_1"}, BASE[2]],
            }
        ),
        OPENAI_RESPONSES,
    ),
    "assistant prefill after the newest turn": (
        anthropic([*BASE, {"role": "assistant", "content": "Sure,"}]),
        ANTHROPIC,
    ),
}


@pytest.mark.parametrize(
    ("body", "dialect"), ASSISTANT_REWRITES.values(), ids=ASSISTANT_REWRITES.keys()
)
def test_assistant_turns_leave_no_mark_on_the_path(body: bytes, dialect: Any) -> None:
    """Dropping, emptying, rewriting or inserting assistant messages keeps the path."""
    assert fingerprints(body, dialect) == REFERENCE


def test_messages_split_or_merged_reach_the_same_newest_point() -> None:
    """Two user messages and one message holding both texts meet at the newest point."""
    split = fingerprints(anthropic([BASE[0], BASE[2]]))
    merged = fingerprints(
        anthropic([{"role": "user", "content": f"{BASE[0]['content']} {BASE[2]['content']}"}])
    )
    assert merged[-1] == split[-1]


def test_tool_results_are_on_the_path() -> None:
    """A tool result is a user-side turn: a different result is a different path."""

    def history(result: str) -> list[str]:
        return fingerprints(
            anthropic(
                [
                    {"role": "user", "content": "weather?"},
                    {
                        "role": "assistant",
                        "content": [{"type": "tool_use", "id": "t", "name": "get", "input": {}}],
                    },
                    {
                        "role": "user",
                        "content": [{"type": "tool_result", "tool_use_id": "t", "content": result}],
                    },
                ]
            )
        )

    assert history("sunny")[0] == history("rain")[0]
    assert history("sunny")[1] != history("rain")[1]


END_USERS = {
    "anthropic metadata.user_id": (
        orjson.dumps(
            {
                "model": "m",
                "max_tokens": 9,
                "system": "Be kind.",
                "messages": BASE,
                "metadata": {"user_id": "user-42"},
            }
        ),
        ANTHROPIC,
    ),
    "chat safety_identifier": (_chat(BASE, safety_identifier="user-42"), OPENAI_CHAT),
    "chat user": (_chat(BASE, user="user-42"), OPENAI_CHAT),
    "responses safety_identifier": (
        orjson.dumps(
            {
                "model": "gpt",
                "instructions": "Be kind.",
                "input": BASE,
                "safety_identifier": "user-42",
            }
        ),
        OPENAI_RESPONSES,
    ),
}


@pytest.mark.parametrize(("body", "dialect"), END_USERS.values(), ids=END_USERS.keys())
def test_the_end_user_is_part_of_the_identity(body: bytes, dialect: Any) -> None:
    """One end user is one path through every API; without the id it is another path."""
    named = fingerprints(body, dialect)
    assert named == fingerprints(END_USERS["chat user"][0], OPENAI_CHAT)
    assert not set(named) & set(REFERENCE)


def test_two_end_users_with_the_same_words_never_share_a_conversation() -> None:
    """Two people behind one key who open with the same words get two conversations."""
    first = fingerprints(_chat(BASE, user="alice"), OPENAI_CHAT)
    second = fingerprints(_chat(BASE, user="bob"), OPENAI_CHAT)
    assert conversation_id(first[0]) != conversation_id(second[0])


LONG_WORDS = ("Déjà vu, again. " * 2000).strip()
SPACES = [
    "a\nb",
    "a  b",
    "a \t\r\n b",
    "a\u00a0b",  # no-break space
    "a\u3000b\u2028c",  # ideographic space, line separator
    "a\x0bb\x1fc",
    "a\u200bb c",  # a zero-width space is not whitespace: it stays
    " " * 9 + "a" + " " * 33,
]


@pytest.mark.parametrize("size", [1, 3000])
@pytest.mark.parametrize("spaces", SPACES)
def test_whitespace_runs_are_one_space_in_short_and_long_texts(spaces: str, size: int) -> None:
    """Every run of Unicode whitespace becomes one space, the ends none, at any length
    (long texts take another path, for speed)."""
    text = f"  {spaces} {LONG_WORDS[: size * 10]}\n{spaces}\n "
    assert normalize_text(text) == " ".join(text.split())


def test_a_long_text_hashed_in_slices_names_the_same_path(monkeypatch: pytest.MonkeyPatch) -> None:
    """A text past `_HASH_SLICE_CHARS` is encoded slice by slice: the bytes, and so the
    fingerprints, are those of the text encoded whole (emoji and accents across the cuts)."""
    long = "café 😀 " * 40_000  # about 280,000 characters, many slices
    body = anthropic([{"role": "user", "content": long}, *BASE])
    sliced = fingerprints(body)
    monkeypatch.setattr(gateway.conversation, "_HASH_SLICE_CHARS", 10**9)
    assert fingerprints(body) == sliced


async def test_a_large_request_is_identified_in_a_thread_as_on_the_loop() -> None:
    """`Guard.begin(large=True)` hashes in a thread: the same identity as on the loop."""
    guard = Guard(await open_store("memory://"), load_rules(model=False), build_policy(Settings()))
    chat = ANTHROPIC.parse_request(anthropic([{"role": "user", "content": "word " * 60_000}]))
    headers = {"x-api-key": "sk-identity-test"}
    on_loop = (await guard.begin(headers, chat)).identity
    in_thread = (await guard.begin(headers, chat, large=True)).identity
    assert in_thread == on_loop
