"""What both adapters share: building the SDK client, parsing tool arguments, pricing a call."""

from __future__ import annotations

import json
from typing import Any

from corral.llm.base import ToolCall, Usage
from corral.llm.pricing import cost_usd
from corral.llm.settings import ApiKey, ModelSettings


def client_options(settings: ModelSettings, key: ApiKey) -> dict[str, Any]:
    """The arguments both SDK clients take: key, endpoint, the SDK's own retries, timeout."""
    return {
        "api_key": key.value,
        "base_url": settings.base_url,
        "max_retries": settings.max_retries,
        "timeout": settings.timeout_s,
    }


def parse_tool_call(call_id: str, name: str, raw_arguments: str) -> ToolCall:
    """A ToolCall whose arguments are None, with `error` set, when they are not a JSON object."""
    try:
        arguments = json.loads(raw_arguments or "{}")
    except json.JSONDecodeError as exc:
        return ToolCall(call_id, name, None, raw_arguments, f"arguments are not valid JSON: {exc}")
    if not isinstance(arguments, dict):
        error = f"arguments must be a JSON object, not {type(arguments).__name__}"
        return ToolCall(call_id, name, None, raw_arguments, error)
    return ToolCall(call_id, name, arguments, raw_arguments)


def priced_usage(
    settings: ModelSettings, model: str, input_tokens: int, output_tokens: int
) -> Usage:
    cost = cost_usd(model or settings.model, input_tokens, output_tokens, settings.prices)
    return Usage(input_tokens, output_tokens, cost)
