"""The official Python SDKs driven as an app would: anthropic, openai Chat and Responses."""

from __future__ import annotations

import json
from typing import Any

import anthropic
import openai

from tests.clients.scenario import (
    AFTER,
    CRISIS,
    GREETING,
    HARMFUL,
    LOCALE,
    MODEL_A,
    MODEL_O,
    TOOL_PROMPT,
    TOOL_RESULT,
    WEATHER_SCHEMA,
    Result,
)

WEATHER_A = {
    "name": "get_weather",
    "description": "Weather for a city",
    "input_schema": WEATHER_SCHEMA,
}
# Typed as Any: the SDKs' own tool param types are unions of TypedDicts.
WEATHER_CHAT: Any = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Weather for a city",
        "parameters": WEATHER_SCHEMA,
    },
}
WEATHER_RESP: Any = {"type": "function", "name": "get_weather", "parameters": WEATHER_SCHEMA}


def _error(err: anthropic.APIStatusError | openai.APIStatusError) -> Result:
    """What an app reads from the terminal answer's exception."""
    body = err.response.json()
    return {
        "status": err.status_code,
        "ended": body["error"]["type"] == "conversation_ended",
        "id": body["conversation_ended"]["id"],
        "via": "err.response.json()",
    }


class AnthropicSdk:
    """`anthropic.Anthropic`: messages.create and messages.stream."""

    def __init__(self, base: str, key: str) -> None:
        self.client = anthropic.Anthropic(base_url=base, api_key=key)

    def _create(self, messages: list[Any], **kwargs: Any) -> Any:
        return self.client.messages.create(
            model=MODEL_A, max_tokens=200, messages=messages, **kwargs
        )

    def plain(self) -> Result:
        """One message, one answer."""
        with self.client:
            message = self._create([{"role": "user", "content": GREETING}])
        return {"text": "".join(b.text for b in message.content if b.type == "text")}

    def streamed(self) -> Result:
        """The stream helper's text deltas."""
        with (
            self.client,
            self.client.messages.stream(
                model=MODEL_A, max_tokens=200, messages=[{"role": "user", "content": GREETING}]
            ) as stream,
        ):
            pieces = list(stream.text_stream)
        return {"text": "".join(pieces), "deltas": len(pieces)}

    def tool(self) -> Result:
        """A tool_use block, then a tool_result, then the answer."""
        history: list[Any] = [{"role": "user", "content": TOOL_PROMPT}]
        with self.client:
            first = self._create(history, tools=[WEATHER_A])
            call = next(b for b in first.content if b.type == "tool_use")
            history += [
                {"role": "assistant", "content": first.content},
                {
                    "role": "user",
                    "content": [
                        {"type": "tool_result", "tool_use_id": call.id, "content": TOOL_RESULT}
                    ],
                },
            ]
            final = self._create(history, tools=[WEATHER_A])
        text = "".join(b.text for b in final.content if b.type == "text")
        return {"call": [call.name, call.input], "text": text}

    def _turn(self, history: list[Any], text: str, stream: bool) -> tuple[str, Any]:
        history.append({"role": "user", "content": text})
        signal = None
        if stream:
            with self.client.messages.stream(model=MODEL_A, max_tokens=200, messages=history) as s:
                for event in s:
                    if event.type == "message_delta":
                        signal = getattr(event, "conversation_ended", None)
                message = s.get_final_message()
        else:
            message = self._create(history)
            signal = getattr(message, "conversation_ended", None)
        history.append({"role": "assistant", "content": message.content})
        return "".join(b.text for b in message.content if b.type == "text"), signal

    def _play(self, stream: bool) -> tuple[list[Any], Result]:
        history: list[Any] = []
        for text in [GREETING, *HARMFUL]:
            answer, signal = self._turn(history, text, stream)
        via = "message_delta.conversation_ended" if stream else "message.conversation_ended"
        return history, {"text": answer, "signal": signal, "via": via}

    def ending(self) -> Result:
        """`message.conversation_ended` on the answer that ends the conversation."""
        with self.client:
            return self._play(stream=False)[1]

    def ending_streamed(self) -> Result:
        """`conversation_ended` on the message_delta event."""
        with self.client:
            return self._play(stream=True)[1]

    def ended_thread(self) -> Result:
        """The next turn raises APIStatusError 410, with default retries."""
        with self.client:
            history, _ = self._play(stream=False)
            try:
                self._create([*history, {"role": "user", "content": AFTER}])
            except anthropic.APIStatusError as err:
                return _error(err)
        raise AssertionError("the ended thread went on")

    def crisis(self) -> Result:
        """`message.crisis_resources`."""
        with self.client:
            message = self._create(
                [{"role": "user", "content": CRISIS}], extra_headers={"Accept-Language": LOCALE}
            )
        return {
            "resources": getattr(message, "crisis_resources", None),
            "via": "message.crisis_resources",
        }


class OpenAIChat:
    """`openai.OpenAI` Chat Completions; a refusal goes back as empty assistant content."""

    def __init__(self, base: str, key: str) -> None:
        self.client = openai.OpenAI(base_url=base + "/v1", api_key=key)

    def plain(self) -> Result:
        """One message, one answer."""
        with self.client:
            completion = self.client.chat.completions.create(
                model=MODEL_O, messages=[{"role": "user", "content": GREETING}]
            )
        return {"text": completion.choices[0].message.content}

    def streamed(self) -> Result:
        """Raw chunks, `chunk.choices[0].delta.content`."""
        with self.client:
            chunks = self.client.chat.completions.create(
                model=MODEL_O, messages=[{"role": "user", "content": GREETING}], stream=True
            )
            pieces = [c.choices[0].delta.content or "" for c in chunks if c.choices]
        return {"text": "".join(pieces), "deltas": len([p for p in pieces if p])}

    def tool(self) -> Result:
        """tool_calls, then a tool message, then the answer."""
        messages: list[Any] = [{"role": "user", "content": TOOL_PROMPT}]
        with self.client:
            first = self.client.chat.completions.create(
                model=MODEL_O, messages=messages, tools=[WEATHER_CHAT]
            )
            reply = first.choices[0].message
            call: Any = (reply.tool_calls or [])[0]
            messages += [
                reply.model_dump(exclude_none=True),
                {"role": "tool", "tool_call_id": call.id, "content": TOOL_RESULT},
            ]
            final = self.client.chat.completions.create(
                model=MODEL_O, messages=messages, tools=[WEATHER_CHAT]
            )
        args = json.loads(call.function.arguments)
        return {"call": [call.function.name, args], "text": final.choices[0].message.content}

    def _play(self, stream: bool) -> tuple[list[Any], Result]:
        messages: list[Any] = []
        for text in [GREETING, *HARMFUL]:
            messages.append({"role": "user", "content": text})
            if stream:
                answer, signal = "", None
                for chunk in self.client.chat.completions.create(
                    model=MODEL_O, messages=messages, stream=True
                ):
                    answer += chunk.choices[0].delta.content or ""
                    if chunk.choices[0].finish_reason is not None:
                        signal = getattr(chunk, "conversation_ended", None)
            else:
                completion = self.client.chat.completions.create(model=MODEL_O, messages=messages)
                answer = completion.choices[0].message.content or ""
                signal = getattr(completion, "conversation_ended", None)
            # A refusal has content None: this app sends it back empty, as many do.
            messages.append({"role": "assistant", "content": answer})
        via = "finish chunk .conversation_ended" if stream else "completion.conversation_ended"
        return messages, {"text": answer, "signal": signal, "via": via}

    def ending(self) -> Result:
        """`completion.conversation_ended`."""
        with self.client:
            return self._play(stream=False)[1]

    def ending_streamed(self) -> Result:
        """`conversation_ended` on the chunk with the finish reason."""
        with self.client:
            return self._play(stream=True)[1]

    def ended_thread(self) -> Result:
        """The next turn raises APIStatusError 410, with default retries."""
        with self.client:
            messages, _ = self._play(stream=False)
            try:
                self.client.chat.completions.create(
                    model=MODEL_O, messages=[*messages, {"role": "user", "content": AFTER}]
                )
            except openai.APIStatusError as err:
                return _error(err)
        raise AssertionError("the ended thread went on")

    def crisis(self) -> Result:
        """`completion.crisis_resources`."""
        with self.client:
            completion = self.client.chat.completions.create(
                model=MODEL_O,
                messages=[{"role": "user", "content": CRISIS}],
                extra_headers={"Accept-Language": LOCALE},
            )
        return {
            "resources": getattr(completion, "crisis_resources", None),
            "via": "completion.crisis_resources",
        }


class OpenAIResponses:
    """`openai.OpenAI` Responses: output items sent back as input."""

    def __init__(self, base: str, key: str) -> None:
        self.client = openai.OpenAI(base_url=base + "/v1", api_key=key)

    def plain(self) -> Result:
        """One input, `response.output_text`."""
        with self.client:
            response = self.client.responses.create(model=MODEL_O, input=GREETING)
        return {"text": response.output_text}

    def streamed(self) -> Result:
        """The stream helper's `response.output_text.delta` events."""
        with self.client, self.client.responses.stream(model=MODEL_O, input=GREETING) as stream:
            pieces = [e.delta for e in stream if e.type == "response.output_text.delta"]
        return {"text": "".join(pieces), "deltas": len(pieces)}

    def tool(self) -> Result:
        """A function_call item, then a function_call_output, then the answer."""
        history: list[Any] = [{"role": "user", "content": TOOL_PROMPT}]
        with self.client:
            first = self.client.responses.create(model=MODEL_O, input=history, tools=[WEATHER_RESP])
            call = next(item for item in first.output if item.type == "function_call")
            history += [
                *first.output,
                {"type": "function_call_output", "call_id": call.call_id, "output": TOOL_RESULT},
            ]
            final = self.client.responses.create(model=MODEL_O, input=history, tools=[WEATHER_RESP])
        return {"call": [call.name, json.loads(call.arguments)], "text": final.output_text}

    def _play(self, stream: bool) -> tuple[list[Any], Result]:
        history: list[Any] = []
        response: Any
        for text in [GREETING, *HARMFUL]:
            history.append({"role": "user", "content": text})
            if stream:
                # The stream helper rebuilds its events: the field is on the event's
                # `response` and on the final response, not on the event itself.
                with self.client.responses.stream(model=MODEL_O, input=history) as s:
                    for _ in s:
                        pass
                    response = s.get_final_response()
            else:
                response = self.client.responses.create(model=MODEL_O, input=history)
            signal = getattr(response, "conversation_ended", None)
            history += response.output
        via = "get_final_response().conversation_ended" if stream else "response.conversation_ended"
        result = {"text": response.output_text, "signal": signal, "via": via}
        return history, {**result, "conversation": response.conversation}

    def ending(self) -> Result:
        """`response.conversation_ended`."""
        with self.client:
            return self._play(stream=False)[1]

    def ending_streamed(self) -> Result:
        """`conversation_ended` on response.completed."""
        with self.client:
            return self._play(stream=True)[1]

    def ended_thread(self) -> Result:
        """The next turn raises APIStatusError 410, with default retries."""
        with self.client:
            history, _ = self._play(stream=False)
            try:
                self.client.responses.create(
                    model=MODEL_O, input=[*history, {"role": "user", "content": AFTER}]
                )
            except openai.APIStatusError as err:
                return _error(err)
        raise AssertionError("the ended thread went on")

    def crisis(self) -> Result:
        """`response.crisis_resources`."""
        with self.client:
            response = self.client.responses.create(
                model=MODEL_O, input=CRISIS, extra_headers={"Accept-Language": LOCALE}
            )
        return {
            "resources": getattr(response, "crisis_resources", None),
            "via": "response.crisis_resources",
        }
