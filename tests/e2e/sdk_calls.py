"""One call per API through the official SDKs, reduced to what a client app reads.

The summaries leave out ids (random per response) and keep everything else an app
uses: text, stop reason, usage and tool calls.
"""

from __future__ import annotations

import json
from typing import Any

import anthropic
import openai

MODEL_A = "claude-opus-4-7"
MODEL_O = "gpt-4.1"
KEY = "sk-test-0123456789abcdef"
WEATHER_A = {
    "name": "get_weather",
    "description": "Weather for a city",
    "input_schema": {
        "type": "object",
        "properties": {"city": {"type": "string"}},
        "required": ["city"],
    },
}
WEATHER_CHAT = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Weather for a city",
        "parameters": WEATHER_A["input_schema"],
    },
}
WEATHER_RESP = {"type": "function", "name": "get_weather", "parameters": WEATHER_A["input_schema"]}
PROMPTS = {
    "text": "Tell me something nice about gardens.",
    "tool": "Use get_weather for Paris please.",
}

Summary = tuple[Any, ...]


def anthropic_summary(message: Any) -> Summary:
    """Text, stop reason, usage and tool calls of a Messages response."""
    text = "".join(b.text for b in message.content if b.type == "text")
    tools = [(b.name, b.input) for b in message.content if b.type == "tool_use"]
    usage = (message.usage.input_tokens, message.usage.output_tokens)
    return text, message.stop_reason, usage, tools


def anthropic_call(base: str, prompt: str, stream: bool, **options: Any) -> Summary:
    """One Messages call with the sync SDK."""
    client = anthropic.Anthropic(base_url=base, api_key=KEY, max_retries=0, **options)
    kwargs: dict[str, Any] = {
        "model": MODEL_A,
        "max_tokens": 200,
        "messages": [{"role": "user", "content": prompt}],
        "tools": [WEATHER_A],
    }
    with client:
        if stream:
            with client.messages.stream(**kwargs) as events:
                return anthropic_summary(events.get_final_message())
        return anthropic_summary(client.messages.create(**kwargs))


async def anthropic_call_async(base: str, prompt: str, stream: bool) -> Summary:
    """One Messages call with the async SDK (raw events when streaming)."""
    async with anthropic.AsyncAnthropic(base_url=base, api_key=KEY, max_retries=0) as client:
        kwargs: dict[str, Any] = {
            "model": MODEL_A,
            "max_tokens": 200,
            "messages": [{"role": "user", "content": prompt}],
            "tools": [WEATHER_A],
        }
        if stream:
            async with client.messages.stream(**kwargs) as events:
                return anthropic_summary(await events.get_final_message())
        return anthropic_summary(await client.messages.create(**kwargs))


def chat_summary(completion: Any) -> Summary:
    """Content, finish reason, usage and tool calls of a chat completion."""
    choice = completion.choices[0]
    calls = [
        (c.function.name, json.loads(c.function.arguments)) for c in choice.message.tool_calls or ()
    ]
    usage = (completion.usage.prompt_tokens, completion.usage.completion_tokens)
    return choice.message.content, choice.finish_reason, usage, calls


def chat_call(base: str, prompt: str, stream: bool) -> Summary:
    """One Chat Completions call with the sync SDK (the stream helper when streaming)."""
    with openai.OpenAI(base_url=base + "/v1", api_key=KEY, max_retries=0) as client:
        kwargs: dict[str, Any] = {
            "model": MODEL_O,
            "messages": [{"role": "user", "content": prompt}],
            "tools": [WEATHER_CHAT],
        }
        if stream:
            with client.chat.completions.stream(
                **kwargs, stream_options={"include_usage": True}
            ) as events:
                return chat_summary(events.get_final_completion())
        return chat_summary(client.chat.completions.create(**kwargs))


async def chat_call_async(base: str, prompt: str, stream: bool) -> Summary:
    """One Chat Completions call with the async SDK (raw chunks when streaming)."""
    async with openai.AsyncOpenAI(base_url=base + "/v1", api_key=KEY, max_retries=0) as client:
        kwargs: dict[str, Any] = {
            "model": MODEL_O,
            "messages": [{"role": "user", "content": prompt}],
            "tools": [WEATHER_CHAT],
        }
        if not stream:
            return chat_summary(await client.chat.completions.create(**kwargs))
        text, finish, usage = "", None, None
        calls: dict[int, list[str]] = {}
        chunks = await client.chat.completions.create(
            **kwargs, stream=True, stream_options={"include_usage": True}
        )
        async for chunk in chunks:
            if chunk.usage is not None:
                usage = (chunk.usage.prompt_tokens, chunk.usage.completion_tokens)
            for choice in chunk.choices:
                text += choice.delta.content or ""
                finish = choice.finish_reason or finish
                for call in choice.delta.tool_calls or ():
                    entry = calls.setdefault(call.index, ["", ""])
                    entry[0] += (call.function and call.function.name) or ""
                    entry[1] += (call.function and call.function.arguments) or ""
        tools = [(name, json.loads(args)) for name, args in calls.values()]
        return text or None, finish, usage, tools


def responses_summary(response: Any) -> Summary:
    """Output text, status, usage and function calls of a response."""
    calls = [
        (item.name, json.loads(item.arguments))
        for item in response.output
        if item.type == "function_call"
    ]
    usage = (response.usage.input_tokens, response.usage.output_tokens)
    return response.output_text, response.status, usage, calls


def responses_call(base: str, prompt: str, stream: bool) -> Summary:
    """One Responses call with the sync SDK (the stream helper when streaming)."""
    with openai.OpenAI(base_url=base + "/v1", api_key=KEY, max_retries=0) as client:
        kwargs: dict[str, Any] = {"model": MODEL_O, "input": prompt, "tools": [WEATHER_RESP]}
        if stream:
            with client.responses.stream(**kwargs) as events:
                return responses_summary(events.get_final_response())
        return responses_summary(client.responses.create(**kwargs))


async def responses_call_async(base: str, prompt: str, stream: bool) -> Summary:
    """One Responses call with the async SDK (raw events when streaming)."""
    async with openai.AsyncOpenAI(base_url=base + "/v1", api_key=KEY, max_retries=0) as client:
        kwargs: dict[str, Any] = {"model": MODEL_O, "input": prompt, "tools": [WEATHER_RESP]}
        if not stream:
            return responses_summary(await client.responses.create(**kwargs))
        final = None
        events = await client.responses.create(**kwargs, stream=True)
        async for event in events:
            if event.type == "response.completed":
                final = event.response
        assert final is not None, "the stream had no response.completed event"
        return responses_summary(final)
