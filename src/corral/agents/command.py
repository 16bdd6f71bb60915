"""A deterministic change command (a codemod, `sed`, OpenRewrite...) as an agent.

It runs once in the sandbox in the workspace; a non-zero exit or an empty diff ends the
session with that reason; otherwise the gate decides. There is nothing to retry: the same
command gives the same diff, so a failed gate ends the session.
"""

from __future__ import annotations

import time
from pathlib import Path

from corral.agents.base import AgentOutcome
from corral.gate.base import Gate, Recorder
from corral.git.command import GitCommandError
from corral.git.worktree import has_change
from corral.sandbox.base import CommandResult, CommandRunner, Limits, ToolMissingError
from corral.spec import SessionBudgets

_KEEP_CHARS = 4000


class CommandAgent:
    """Implements `Agent` with `sh -c COMMAND`; the prompt is only recorded."""

    def __init__(
        self, command: str, runner: CommandRunner, budgets: SessionBudgets | None = None
    ) -> None:
        self.command = command
        self.runner = runner
        self.budgets = budgets or SessionBudgets()

    def run(self, workspace: Path, prompt: str, gate: Gate, recorder: Recorder) -> AgentOutcome:
        recorder.record("note", {"event": "start", "command": self.command, "prompt": prompt})
        outcome = self._run(workspace, gate, recorder)
        recorder.record(
            "note", {"event": "end", "status": outcome.status, "reason": outcome.reason}
        )
        return outcome

    def _run(self, workspace: Path, gate: Gate, recorder: Recorder) -> AgentOutcome:
        argv = ["sh", "-c", self.command]
        started = time.monotonic()
        try:
            result = self.runner.run(
                argv, cwd=workspace, limits=Limits(timeout_s=self.budgets.max_wall_s)
            )
        except ToolMissingError as exc:
            recorder.record("tool_call", _call_record(argv, None, time.monotonic() - started))
            return AgentOutcome("error", f"the change command could not start: {exc} is missing")
        recorder.record("tool_call", _call_record(argv, result, result.duration_s))
        if result.limit_hit == "timeout":
            return AgentOutcome(
                "budget_exhausted",
                f"wall-time budget spent: the command ran past {self.budgets.max_wall_s:.0f}s",
            )
        if not result.ok:
            return AgentOutcome("error", _failure_reason(result))
        try:
            changed = has_changes(workspace)
        except GitCommandError as exc:
            return AgentOutcome("error", f"corral will not read the change: {exc}")
        if not changed:
            return AgentOutcome("no_change", "the change command left the repository unchanged")
        final = gate.check()
        if final.ok:
            return AgentOutcome("passed", "the gate passed", final, turns=1)
        return AgentOutcome("gate_failed", _first_line(final.message), final, turns=1)


def _call_record(
    argv: list[str], result: CommandResult | None, duration_s: float
) -> dict[str, object]:
    record: dict[str, object] = {
        "name": "command",
        "arguments": {"argv": argv},
        "duration_s": round(duration_s, 3),
    }
    if result is not None:
        record.update(
            exit_code=result.exit_code,
            limit_hit=result.limit_hit,
            stdout=result.stdout[-_KEEP_CHARS:],
            stderr=result.stderr[-_KEEP_CHARS:],
            is_error=not result.ok,
        )
    return record


def _failure_reason(result: CommandResult) -> str:
    detail = _first_line("\n".join(result.output.strip().splitlines()[-1:]))
    limit = f" ({result.limit_hit} limit)" if result.limit_hit else ""
    return f"the change command exited {result.exit_code}{limit}: {detail}"


def has_changes(workspace: Path) -> bool:
    """Whether the workspace holds a change, as the gate and the commit will see it."""
    return has_change(workspace)


def _first_line(text: str) -> str:
    lines = text.strip().splitlines()
    return lines[0][:300] if lines else "(no output)"
