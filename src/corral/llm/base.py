"""The provider-neutral model interface: one `complete` call, typed messages and tool calls.

Adapters (anthropic.py, openai.py) wrap the official SDKs; nothing else imports an SDK.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal, Protocol


@dataclass(frozen=True)
class ToolSpec:
    name: str
    description: str
    input_schema: dict[str, Any]


@dataclass(frozen=True)
class ToolCall:
    id: str
    name: str
    arguments: dict[str, Any] | None
    """None when the model's arguments were not valid JSON (see `error`)."""
    raw_arguments: str = ""
    error: str | None = None


@dataclass(frozen=True)
class Message:
    role: Literal["user", "assistant", "tool"]
    content: str = ""
    tool_calls: tuple[ToolCall, ...] = ()
    """On assistant messages: the calls the model made."""
    tool_call_id: str | None = None
    """On tool messages: which call this is the result of."""
    is_error: bool = False


@dataclass(frozen=True)
class Usage:
    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float = 0.0

    def __add__(self, other: Usage) -> Usage:
        return Usage(
            self.input_tokens + other.input_tokens,
            self.output_tokens + other.output_tokens,
            self.cost_usd + other.cost_usd,
        )

    @property
    def total_tokens(self) -> int:
        return self.input_tokens + self.output_tokens


@dataclass(frozen=True)
class ModelReply:
    text: str
    tool_calls: tuple[ToolCall, ...] = ()
    stop_reason: str = "end_turn"
    usage: Usage = field(default_factory=Usage)
    model: str = ""
    cut: str | None = None
    """Why the answer was cut off as it arrived (over a limit of `CallLimits`); its usage
    is then what had arrived, estimated, and `text` only the start of it."""


@dataclass(frozen=True)
class CallLimits:
    """What one call may still spend, enforced as the answer arrives, not only after it."""

    deadline: float | None = None
    """time.monotonic() by which the call, retries and streams included, must be over."""
    max_tokens: int | None = None
    """Tokens (input and output) the call may use; more cuts the answer."""
    max_cost_usd: float | None = None
    """USD the call may cost; more cuts the answer."""


class ChatModel(Protocol):
    def complete(
        self,
        system: str,
        messages: list[Message],
        tools: list[ToolSpec],
        max_tokens: int = 4096,
        *,
        limits: CallLimits | None = None,
    ) -> ModelReply:
        """One model call. Raises ModelError (llm/errors.py) when it cannot be made; an
        answer over `limits` comes back cut (`ModelReply.cut`)."""
        ...
