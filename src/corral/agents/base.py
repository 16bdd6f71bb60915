"""What every agent backend is: a prompt and a workspace in, edits and an outcome out.

Backends: builtin.py (corral's own loop, any LLM), claude_code.py, command.py (a
deterministic change command). None of them commits, pushes or sees forge credentials.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, Protocol

from corral.gate.base import Gate, GateResult, Recorder
from corral.llm.base import Usage

AgentStatus = Literal["passed", "gate_failed", "budget_exhausted", "no_change", "error"]


@dataclass
class AgentOutcome:
    status: AgentStatus
    reason: str
    """One line for people: why the session ended."""
    final_gate: GateResult | None = None
    usage: Usage = field(default_factory=Usage)
    turns: int = 0


class Agent(Protocol):
    def run(self, workspace: Path, prompt: str, gate: Gate, recorder: Recorder) -> AgentOutcome:
        """Make the change in workspace; the gate decides when it is done."""
        ...
