"""The one place an agent is chosen and built, for `corral change` and for campaigns alike.

A new kind of agent is a module beside this one and a branch in `build_agent`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import get_args

from corral.agents.base import Agent
from corral.config import ConfigError
from corral.llm.settings import ModelSettings
from corral.sandbox import CommandRunner
from corral.spec import AgentKind, SessionBudgets

AGENT_KINDS = get_args(AgentKind)


@dataclass(frozen=True)
class AgentChoice:
    """Which agent to run and with what: what `corral change` and a campaign spec decide."""

    kind: str
    model: ModelSettings | None = None
    budgets: SessionBudgets = field(default_factory=SessionBudgets)
    command: str | None = None
    """A deterministic change command (`sh -c`), run instead of any agent when given."""
    stop: Callable[[], str | None] | None = None
    """Asked between an agent's turns: why it must stop now (its job was cancelled), or None."""


def build_agent(choice: AgentChoice, runner: CommandRunner) -> Agent:
    """The agent for `choice`. Raises ConfigError for an unknown or incomplete choice and
    ModelAuthError when the model's key is missing."""
    if choice.command is not None:
        from corral.agents.command import CommandAgent

        return CommandAgent(choice.command, runner, choice.budgets)
    if choice.kind not in AGENT_KINDS:
        raise ConfigError(f"unknown agent {choice.kind!r}; known: {', '.join(AGENT_KINDS)}")
    if choice.model is None:
        raise ConfigError(f"the {choice.kind} agent needs a model: --provider and --model")
    if choice.kind == "claude-code":
        from corral.agents.claude_code import ClaudeCodeAgent
        from corral.sandbox import LocalRunner

        sandboxed = not isinstance(runner, LocalRunner)  # like every other command
        return ClaudeCodeAgent(choice.model, choice.budgets, sandboxed=sandboxed)
    from corral.agents.builtin import BuiltinAgent
    from corral.llm.settings import make_model

    return BuiltinAgent(make_model(choice.model), choice.budgets, stop=choice.stop)
