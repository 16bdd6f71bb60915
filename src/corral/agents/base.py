"""What every agent backend is: a prompt and a workspace in, edits and an outcome out.

Backends: builtin.py (corral's own loop, any LLM), claude_code.py, command.py (a
deterministic change command). None of them commits, pushes or sees forge credentials.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field

from corral.gate.base import Gate, GateResult
from corral.llm.base import Usage

AgentStatus = Literal["passed", "gate_failed", "budget_exhausted", "no_change", "error"]


class Budgets(BaseModel):
    """Limits on one agent session (or change command): the campaign spec's job budget is
    these plus its CI rounds."""

    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)

    max_turns: int = Field(default=50, gt=0)
    max_tokens: int = Field(default=2_000_000, gt=0)
    max_cost_usd: float = Field(default=10.0, gt=0)
    max_wall_s: float = Field(default=3600.0, gt=0)
    """Wall time of one agent session (for a command: its run)."""
    max_gate_retries: int = Field(default=3, ge=0)
    """How many failed gates are fed back to the agent before it is given up on."""


@dataclass
class AgentOutcome:
    status: AgentStatus
    reason: str
    """One line for people: why the session ended."""
    final_gate: GateResult | None = None
    usage: Usage = field(default_factory=Usage)
    turns: int = 0


class Recorder(Protocol):
    """Where a session's transcript goes: a JSONL file, or the store."""

    def record(self, kind: str, data: dict[str, Any]) -> None:
        """kind: "model_call", "tool_call", "gate", "note"; data must be JSON-serialisable."""
        ...


class Agent(Protocol):
    def run(self, workspace: Path, prompt: str, gate: Gate, recorder: Recorder) -> AgentOutcome:
        """Make the change in workspace; the gate decides when it is done."""
        ...
