"""What a gate run returns, and the one method every gate has.

The gate (gate.py) runs verifiers, then the guard, then the judge, and fails closed.
Agents, the MCP `verify` tool and the Stop hook only ever see `Gate.check()`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol


@dataclass
class StageResult:
    name: str
    """"verifiers", "guard" or "judge"."""
    ok: bool
    message: str
    duration_s: float = 0.0
    details: dict[str, Any] = field(default_factory=dict)
    """Stage-specific data for the record: findings, rule hits, the judge's verdict."""
    skipped: bool = False
    """True when the stage did not run because it is switched off (never when it failed to run)."""


@dataclass
class GateResult:
    ok: bool
    message: str
    """Exactly what the agent is shown: the failing stage's message, or one success line."""
    stages: list[StageResult] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "message": self.message,
            "stages": [{"name": s.name, "ok": s.ok, "message": s.message} for s in self.stages],
        }

    def verifiers_json(self) -> list[dict[str, Any]]:
        """The verifiers stage's results in `corral verify --json`'s shape ([] without it)."""
        first = self.stages[0] if self.stages else None
        if first is None or first.name != "verifiers":
            return []
        verifiers: list[dict[str, Any]] = first.details.get("verifiers", [])
        return verifiers

    def to_verify_json(self) -> dict[str, Any]:
        """`corral verify --json`'s object plus the stages: what `corral gate --json` prints."""
        gate = self.to_json()
        return {
            "ok": gate["ok"],
            "message": gate["message"],
            "verifiers": self.verifiers_json(),
            **gate,
        }

    @property
    def nothing_to_verify(self) -> bool:
        """No verifier applied to the workspace at all."""
        first = self.stages[0] if self.stages else None
        return first is not None and first.details.get("verifiers") == []


class Gate(Protocol):
    def check(self) -> GateResult:
        """Run the whole gate on the workspace as it is now."""
        ...


class Recorder(Protocol):
    """Where a session's transcript goes: a JSONL file, or the store."""

    def record(self, kind: str, data: dict[str, Any]) -> None:
        """kind: "model_call", "tool_call", "gate", "note"; data must be JSON-serialisable."""
        ...
