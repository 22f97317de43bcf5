"""LangChain and LiteLLM driven as an app would, through the gateway."""

from __future__ import annotations

import json
from typing import Any

import anthropic
import litellm
import openai
from langchain_anthropic import ChatAnthropic
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, ToolMessage
from langchain_openai import ChatOpenAI

from tests.clients.drivers_sdk import WEATHER_CHAT
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
    Result,
)


def _from_headers(headers: Any) -> dict[str, str] | None:
    """The end signal as response headers show it: the id and the status, when ended."""
    status = headers.get("x-conversation-status") if headers else None
    if status != "ended":
        return None
    return {"id": headers["x-conversation-id"], "status": status}


def _terminal(err: Exception) -> Result:
    """What an app reads from the exception a library raises for the terminal answer."""
    assert isinstance(err, anthropic.APIStatusError | openai.APIStatusError), repr(err)
    body = err.response.json()
    return {
        "status": err.status_code,
        "ended": body["error"]["type"] == "conversation_ended",
        "id": body["conversation_ended"]["id"],
        "via": "err.response.json()",
    }


class LangChain:
    """A LangChain chat model: invoke, stream, bind_tools; the signal in `response_metadata`."""

    def __init__(self, base: str, key: str, flavour: str) -> None:
        self.flavour = flavour
        self.base = base
        self.key = key
        self.http: Any = None

    def llm(self, **headers: str) -> BaseChatModel:
        """The chat model, as the LangChain docs configure it for a custom base URL."""
        if self.flavour == "anthropic":
            return ChatAnthropic(
                base_url=self.base, api_key=self.key, model=MODEL_A, default_headers=headers
            )
        return ChatOpenAI(
            base_url=self.base + "/v1",
            api_key=self.key,
            model=MODEL_O,
            use_responses_api=self.flavour == "responses",
            include_response_headers=True,  # response_metadata["headers"]
            default_headers=headers,
        )

    def plain(self) -> Result:
        """invoke: one message, one AIMessage."""
        return {"text": self.llm().invoke(GREETING).text}

    def streamed(self) -> Result:
        """stream: AIMessageChunks."""
        pieces = [chunk.text for chunk in self.llm().stream(GREETING)]
        return {"text": "".join(pieces), "deltas": len([p for p in pieces if p])}

    def tool(self) -> Result:
        """bind_tools: `ai.tool_calls`, a ToolMessage, then the answer."""
        llm = self.llm().bind_tools([WEATHER_CHAT])
        messages: list[BaseMessage] = [HumanMessage(TOOL_PROMPT)]
        first = llm.invoke(messages)
        assert isinstance(first, AIMessage)
        call = first.tool_calls[0]
        messages += [first, ToolMessage(TOOL_RESULT, tool_call_id=call["id"])]
        final = llm.invoke(messages)
        return {"call": [call["name"], call["args"]], "text": final.text}

    def _play(self, stream: bool) -> tuple[list[BaseMessage], Result]:
        llm = self.llm()
        messages: list[BaseMessage] = []
        for text in [GREETING, *HARMFUL]:
            messages.append(HumanMessage(text))
            if stream:
                answer: Any = None
                for chunk in llm.stream(messages):
                    answer = chunk if answer is None else answer + chunk
            else:
                answer = llm.invoke(messages)
            messages.append(answer)
        metadata = answer.response_metadata
        if self.flavour == "anthropic":
            signal, via = (
                metadata.get("conversation_ended"),
                "response_metadata['conversation_ended']",
            )
        else:
            signal, via = _from_headers(metadata.get("headers")), "response_metadata['headers']"
        return messages, {"text": answer.text, "signal": signal, "via": via}

    def ending(self) -> Result:
        """invoke: the answer's response_metadata."""
        return self._play(stream=False)[1]

    def ending_streamed(self) -> Result:
        """stream: the merged chunks' response_metadata."""
        return self._play(stream=True)[1]

    def ended_thread(self) -> Result:
        """The next invoke raises the SDK's APIStatusError 410."""
        messages, _ = self._play(stream=False)
        try:
            self.llm().invoke([*messages, HumanMessage(AFTER)])
        except Exception as err:
            return _terminal(err)
        raise AssertionError("the ended thread went on")

    def crisis(self) -> Result:
        """invoke with Accept-Language: the answer's response_metadata."""
        answer = self.llm(**{"Accept-Language": LOCALE}).invoke(CRISIS)
        return {
            "text": answer.text,
            "resources": answer.response_metadata.get("crisis_resources"),
            "via": "response_metadata['crisis_resources']",
        }


class LiteLLM:
    """`litellm.completion` with an `openai/` or `anthropic/` model and an api_base."""

    def __init__(self, base: str, key: str, provider: str) -> None:
        self.provider = provider
        model, api_base = (MODEL_O, base + "/v1") if provider == "openai" else (MODEL_A, base)
        self.options: dict[str, Any] = {
            "model": f"{provider}/{model}",
            "api_base": api_base,
            "api_key": key,
            "max_tokens": 200,
        }

    def _complete(self, messages: list[Any], **kwargs: Any) -> Any:
        return litellm.completion(messages=messages, **self.options, **kwargs)

    def plain(self) -> Result:
        """completion: `choices[0].message.content`."""
        response = self._complete([{"role": "user", "content": GREETING}])
        return {"text": response.choices[0].message.content}

    def streamed(self) -> Result:
        """completion(stream=True): `choices[0].delta.content`."""
        chunks = self._complete([{"role": "user", "content": GREETING}], stream=True)
        pieces = [c.choices[0].delta.content or "" for c in chunks if c.choices]
        return {"text": "".join(pieces), "deltas": len([p for p in pieces if p])}

    def tool(self) -> Result:
        """tool_calls, a tool message, then the answer."""
        messages: list[Any] = [{"role": "user", "content": TOOL_PROMPT}]
        first = self._complete(messages, tools=[WEATHER_CHAT])
        reply = first.choices[0].message
        call = reply.tool_calls[0]
        messages += [
            reply.model_dump(exclude_none=True),
            {"role": "tool", "tool_call_id": call.id, "content": TOOL_RESULT},
        ]
        final = self._complete(messages, tools=[WEATHER_CHAT])
        return {
            "call": [call.function.name, json.loads(call.function.arguments)],
            "text": final.choices[0].message.content,
        }

    def _play(self, stream: bool) -> tuple[list[Any], Result]:
        messages: list[Any] = []
        for text in [GREETING, *HARMFUL]:
            messages.append({"role": "user", "content": text})
            signal = None
            if stream:
                answer = ""
                for chunk in self._complete(messages, stream=True):
                    answer += (chunk.choices[0].delta.content or "") if chunk.choices else ""
                    signal = getattr(chunk, "conversation_ended", None) or signal
                via = "chunk.conversation_ended"
            else:
                response = self._complete(messages)
                answer = response.choices[0].message.content or ""
                signal = getattr(response, "conversation_ended", None)
                via = "response.conversation_ended"
                if self.provider == "anthropic":
                    headers = response._hidden_params["additional_headers"]
                    signal = _from_headers(
                        {k.removeprefix("llm_provider-"): v for k, v in headers.items()}
                    )
                    via = "response._hidden_params['additional_headers']"
            messages.append({"role": "assistant", "content": answer})
        return messages, {"text": answer, "signal": signal, "via": via}

    def ending(self) -> Result:
        """completion: the response."""
        return self._play(stream=False)[1]

    def ending_streamed(self) -> Result:
        """completion(stream=True): the chunks."""
        return self._play(stream=True)[1]

    def ended_thread(self) -> Result:
        """The next completion raises (a litellm exception, an openai.APIStatusError)."""
        messages, _ = self._play(stream=False)
        try:
            self._complete([*messages, {"role": "user", "content": AFTER}])
        # A LiteLLM exception (openai/: APIError, anthropic/: BadRequestError) keeps the
        # status and the response headers, not the body.
        except (litellm.exceptions.APIError, litellm.exceptions.BadRequestError) as err:
            headers = getattr(err, "litellm_response_headers", {})
            return {
                "status": int(err.status_code),
                "ended": headers["x-conversation-status"] == "ended",
                "id": headers["x-conversation-id"],
                "via": "err.litellm_response_headers",
            }
        raise AssertionError("the ended thread went on")

    def crisis(self) -> Result:
        """completion with Accept-Language: the response."""
        response = self._complete(
            [{"role": "user", "content": CRISIS}], extra_headers={"Accept-Language": LOCALE}
        )
        return {
            "text": response.choices[0].message.content or "",
            "resources": getattr(response, "crisis_resources", None),
            "via": "response.crisis_resources",
        }
