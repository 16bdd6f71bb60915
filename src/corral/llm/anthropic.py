"""The Anthropic Messages API (with tool use) behind the ChatModel interface."""

from __future__ import annotations

import json
from collections.abc import Iterable
from functools import partial
from typing import Any, cast

import anthropic
import httpx2
from anthropic.types import Message as AnthropicMessage
from anthropic.types import RawMessageStreamEvent

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
from corral.llm.base import CallLimits, Message, ModelReply, ToolCall, ToolSpec
from corral.llm.errors import ModelError, ModelTransportError, connection_error, status_error
from corral.llm.settings import ApiKey, ModelSettings

PROVIDER = "Anthropic"


class AnthropicModel:
    def __init__(self, settings: ModelSettings, key: ApiKey) -> None:
        self.settings = settings
        self._key_source = key.source
        self._client = anthropic.Anthropic(**client_options(settings, key))

    def complete(
        self,
        system: str,
        messages: list[Message],
        tools: list[ToolSpec],
        max_tokens: int = 4096,
        *,
        limits: CallLimits | None = None,
    ) -> ModelReply:
        params: dict[str, Any] = {
            "model": self.settings.model,
            "system": system,
            "messages": to_anthropic_messages(messages),
            "tools": [
                {"name": t.name, "description": t.description, "input_schema": t.input_schema}
                for t in tools
            ],
            "max_tokens": max_tokens,
        }
        attempt = partial(self._attempt, params, limits)
        return with_retries(PROVIDER, self.settings, limits, attempt)

    def _attempt(
        self, params: dict[str, Any], limits: CallLimits | None, deadline: float, sdk_retries: bool
    ) -> ModelReply:
        meter = Meter(self.settings, limits, params["max_tokens"])
        watchdog: Watchdog | None = None
        client = self._client if sdk_retries else self._client.with_options(max_retries=0)
        try:
            if self.settings.stream:
                events = client.messages.create(**params, timeout=_until(deadline), stream=True)
                with Watchdog(deadline, events.close) as watchdog, events:
                    require_content_type(PROVIDER, events.response, "text/event-stream")
                    return self._reply_from_events(stream_events(iter(events), PROVIDER), meter)
            raw = client.messages.with_streaming_response.create(**params, timeout=_until(deadline))
            with raw as response, Watchdog(deadline, response.close) as watchdog:
                data = read_json_body(PROVIDER, response.http_response, meter)
            return self._reply_from_message(validated(PROVIDER, AnthropicMessage, data))
        except AnswerCut:
            return meter.cut_reply()
        except (
            httpx2.HTTPError,
            httpx2.StreamError,
        ) as exc:
            if watchdog is not None and watchdog.expired:
                raise late_answer(PROVIDER, self.settings.timeout_s) from exc
            raise ModelTransportError(f"{PROVIDER}'s answer broke off: {exc}") from exc
        except anthropic.APIStatusError as exc:
            raise status_error(PROVIDER, exc.status_code, exc.message, self._key_source) from exc
        except anthropic.APIConnectionError as exc:
            if watchdog is not None and watchdog.expired:
                raise late_answer(PROVIDER, self.settings.timeout_s) from exc
            raise connection_error(PROVIDER, str(self._client.base_url), exc) from exc
        except anthropic.AnthropicError as exc:
            raise ModelError(f"{PROVIDER} call failed: {exc}") from exc

    def _reply_from_message(self, message: AnthropicMessage) -> ModelReply:
        text = "".join(block.text for block in message.content if block.type == "text")
        calls = [
            _call_from_input(block.id, block.name, block.input)
            for block in message.content
            if block.type == "tool_use"
        ]
        usage = message.usage
        input_tokens = (
            usage.input_tokens
            + (usage.cache_creation_input_tokens or 0)
            + (usage.cache_read_input_tokens or 0)
        )
        return ModelReply(
            text=text,
            tool_calls=tuple(calls),
            stop_reason=message.stop_reason or "end_turn",
            usage=priced_usage(self.settings, message.model, input_tokens, usage.output_tokens),
            model=message.model,
        )

    def _reply_from_events(
        self, events: Iterable[RawMessageStreamEvent], meter: Meter
    ) -> ModelReply:
        """Accumulate the stream here, so bad tool JSON becomes a ToolCall error, not a crash;
        a stream that ends without `message_stop` is cut off, and a transport error."""
        model, stop_reason = self.settings.model, "end_turn"
        input_tokens = output_tokens = 0
        texts: dict[int, list[str]] = {}
        tools: dict[int, tuple[str, str, list[str]]] = {}
        ended = False
        for event in events:
            if event.type == "message_start":
                model = meter.model = event.message.model
                input_tokens = meter.input_tokens = event.message.usage.input_tokens
                output_tokens = event.message.usage.output_tokens
            elif event.type == "content_block_start":
                block = event.content_block
                if block.type == "text":
                    texts[event.index] = [block.text]
                elif block.type == "tool_use":
                    tools[event.index] = (block.id, block.name, [])
            elif event.type == "content_block_delta":
                delta = event.delta
                if delta.type == "text_delta" and event.index in texts:
                    texts[event.index].append(delta.text)
                    meter.add(delta.text)
                elif delta.type == "input_json_delta" and event.index in tools:
                    tools[event.index][2].append(delta.partial_json)
                    meter.add(delta.partial_json)
            elif event.type == "message_delta":
                stop_reason = event.delta.stop_reason or stop_reason
                output_tokens = event.usage.output_tokens
                if event.usage.input_tokens is not None:
                    input_tokens = event.usage.input_tokens
            elif event.type == "message_stop":
                ended = True
        if not ended:
            raise ModelTransportError(
                f"{PROVIDER}'s stream ended without message_stop: the answer was cut off"
            )
        calls = [
            parse_tool_call(call_id, name, "".join(parts))
            for _, (call_id, name, parts) in sorted(tools.items())
        ]
        return ModelReply(
            text="".join("".join(parts) for _, parts in sorted(texts.items())),
            tool_calls=tuple(calls),
            stop_reason=stop_reason,
            usage=priced_usage(self.settings, model, input_tokens, output_tokens),
            model=model,
        )


def _call_from_input(call_id: str, name: str, tool_input: object) -> ToolCall:
    if isinstance(tool_input, dict):
        return ToolCall(call_id, name, cast(dict[str, Any], tool_input), json.dumps(tool_input))
    return parse_tool_call(call_id, name, json.dumps(tool_input))


def to_anthropic_messages(messages: list[Message]) -> list[dict[str, Any]]:
    """Our messages as Messages-API turns: tool results and user text merge into user turns."""
    turns: list[dict[str, Any]] = []
    for message in messages:
        if message.role == "assistant":
            turns.append({"role": "assistant", "content": _assistant_blocks(message)})
            continue
        block: dict[str, Any]
        if message.role == "tool":
            block = {
                "type": "tool_result",
                "tool_use_id": message.tool_call_id,
                "content": message.content,
                "is_error": message.is_error,
            }
        else:
            block = {"type": "text", "text": message.content}
        if turns and turns[-1]["role"] == "user":
            turns[-1]["content"].append(block)
        else:
            turns.append({"role": "user", "content": [block]})
    return turns


def _assistant_blocks(message: Message) -> list[dict[str, Any]]:
    blocks: list[dict[str, Any]] = []
    if message.content:
        blocks.append({"type": "text", "text": message.content})
    for call in message.tool_calls:
        # A call whose JSON was broken is replayed with empty input; its error result explains.
        tool_input = call.arguments if call.arguments is not None else {}
        blocks.append({"type": "tool_use", "id": call.id, "name": call.name, "input": tool_input})
    # The API refuses an empty assistant turn; an empty reply still has to keep its place.
    return blocks or [{"type": "text", "text": "(no reply)"}]
