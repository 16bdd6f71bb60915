"""OpenAI Chat Completions (with tool calls) behind the ChatModel interface.

With `base_url` the same adapter talks to OpenAI-compatible servers (vLLM, Ollama,
llama.cpp). Those take `max_tokens`; OpenAI's own API wants `max_completion_tokens`.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from functools import partial
from typing import Any

import httpx2
import openai
from openai.types.chat import ChatCompletion, ChatCompletionChunk

from corral.llm._common import (
    AnswerCut,
    Meter,
    Watchdog,
    client_options,
    late_answer,
    parse_tool_call,
    priced_usage,
    read_json_body,
    require_content_type,
    stream_events,
    validated,
    with_retries,
)
from corral.llm._common import (
    seconds_until as _until,
)
from corral.llm.base import CallLimits, Message, ModelReply, ToolSpec
from corral.llm.errors import (
    ModelError,
    ModelResponseError,
    ModelTransportError,
    connection_error,
    status_error,
)
from corral.llm.settings import ApiKey, ModelSettings

PROVIDER = "OpenAI"
STOP_REASONS = {"stop": "end_turn", "tool_calls": "tool_use", "length": "max_tokens"}
"""OpenAI finish reasons in Anthropic's words, so callers see one vocabulary."""


class OpenAIModel:
    def __init__(self, settings: ModelSettings, key: ApiKey) -> None:
        self.settings = settings
        self._key_source = key.source
        self._client = openai.OpenAI(**client_options(settings, key))

    def complete(
        self,
        system: str,
        messages: list[Message],
        tools: list[ToolSpec],
        max_tokens: int = 4096,
        *,
        limits: CallLimits | None = None,
    ) -> ModelReply:
        limit_name = "max_tokens" if self.settings.base_url else "max_completion_tokens"
        params: dict[str, Any] = {
            "model": self.settings.model,
            "messages": [{"role": "system", "content": system}, *to_openai_messages(messages)],
            limit_name: max_tokens,
        }
        if tools:
            params["tools"] = [
                {
                    "type": "function",
                    "function": {
                        "name": t.name,
                        "description": t.description,
                        "parameters": t.input_schema,
                    },
                }
                for t in tools
            ]
        attempt = partial(self._attempt, params, max_tokens, limits)
        return with_retries(PROVIDER, self.settings, limits, attempt)

    def _attempt(
        self,
        params: dict[str, Any],
        max_tokens: int,
        limits: CallLimits | None,
        deadline: float,
        sdk_retries: bool,
    ) -> ModelReply:
        meter = Meter(self.settings, limits, max_tokens)
        watchdog: Watchdog | None = None
        client = self._client if sdk_retries else self._client.with_options(max_retries=0)
        try:
            if self.settings.stream:
                chunks = client.chat.completions.create(
                    **params,
                    timeout=_until(deadline),
                    stream=True,
                    stream_options={"include_usage": True},
                )
                with Watchdog(deadline, chunks.close) as watchdog, chunks:
                    require_content_type(PROVIDER, chunks.response, "text/event-stream")
                    return self._reply_from_chunks(stream_events(iter(chunks), PROVIDER), meter)
            raw = client.chat.completions.with_streaming_response.create(
                **params, timeout=_until(deadline)
            )
            with raw as response, Watchdog(deadline, response.close) as watchdog:
                data = read_json_body(PROVIDER, response.http_response, meter)
            return self._reply_from_completion(validated(PROVIDER, ChatCompletion, data))
        except AnswerCut:
            return meter.cut_reply()
        except (
            httpx2.HTTPError,
            httpx2.StreamError,
        ) as exc:
            if watchdog is not None and watchdog.expired:
                raise late_answer(PROVIDER, self.settings.timeout_s) from exc
            raise ModelTransportError(f"{PROVIDER}'s answer broke off: {exc}") from exc
        except openai.APIStatusError as exc:
            raise status_error(PROVIDER, exc.status_code, exc.message, self._key_source) from exc
        except openai.APIConnectionError as exc:
            if watchdog is not None and watchdog.expired:
                raise late_answer(PROVIDER, self.settings.timeout_s) from exc
            raise connection_error(PROVIDER, str(self._client.base_url), exc) from exc
        except openai.OpenAIError as exc:
            raise ModelError(f"{PROVIDER} call failed: {exc}") from exc

    def _reply_from_completion(self, completion: ChatCompletion) -> ModelReply:
        if not completion.choices:
            raise ModelResponseError(f"{PROVIDER} returned no choices")
        choice = completion.choices[0]
        calls = [
            parse_tool_call(call.id, call.function.name, call.function.arguments)
            for call in choice.message.tool_calls or []
            if call.type == "function"
        ]
        usage = completion.usage
        return ModelReply(
            text=choice.message.content or "",
            tool_calls=tuple(calls),
            stop_reason=STOP_REASONS.get(choice.finish_reason, choice.finish_reason),
            usage=priced_usage(
                self.settings,
                completion.model,
                usage.prompt_tokens if usage else 0,
                usage.completion_tokens if usage else 0,
            ),
            model=completion.model,
        )

    def _reply_from_chunks(self, chunks: Iterable[ChatCompletionChunk], meter: Meter) -> ModelReply:
        """Accumulate the stream; one that ends without a finish reason was cut off."""
        model, finish_reason = self.settings.model, None
        input_tokens = output_tokens = 0
        text: list[str] = []
        calls: dict[int, tuple[list[str], list[str], list[str]]] = {}
        for chunk in chunks:
            model = meter.model = chunk.model or model
            if chunk.usage is not None:
                input_tokens = chunk.usage.prompt_tokens
                output_tokens = chunk.usage.completion_tokens
            for choice in chunk.choices[:1]:
                finish_reason = choice.finish_reason or finish_reason
                text.append(choice.delta.content or "")
                meter.add(choice.delta.content or "")
                for delta in choice.delta.tool_calls or []:
                    ids, names, args = calls.setdefault(delta.index, ([], [], []))
                    ids.append(delta.id or "")
                    if delta.function is not None:
                        names.append(delta.function.name or "")
                        args.append(delta.function.arguments or "")
                        meter.add(delta.function.arguments or "")
        if finish_reason is None:
            raise ModelTransportError(
                f"{PROVIDER}'s stream ended without a finish reason: the answer was cut off"
            )
        tool_calls = [
            parse_tool_call("".join(ids), "".join(names), "".join(args))
            for _, (ids, names, args) in sorted(calls.items())
        ]
        return ModelReply(
            text="".join(text),
            tool_calls=tuple(tool_calls),
            stop_reason=STOP_REASONS.get(finish_reason, finish_reason),
            usage=priced_usage(self.settings, model, input_tokens, output_tokens),
            model=model,
        )


def to_openai_messages(messages: list[Message]) -> list[dict[str, Any]]:
    converted: list[dict[str, Any]] = []
    for message in messages:
        if message.role == "tool":
            converted.append(
                {"role": "tool", "tool_call_id": message.tool_call_id, "content": message.content}
            )
        elif message.role == "assistant" and message.tool_calls:
            converted.append(
                {
                    "role": "assistant",
                    "content": message.content or None,
                    "tool_calls": [
                        {
                            "id": call.id,
                            "type": "function",
                            "function": {
                                "name": call.name,
                                "arguments": call.raw_arguments or json.dumps(call.arguments),
                            },
                        }
                        for call in message.tool_calls
                    ],
                }
            )
        else:
            converted.append({"role": message.role, "content": message.content})
    return converted
