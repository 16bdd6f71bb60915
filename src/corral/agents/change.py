"""One agent session plus the gate on one checkout: what `corral change` runs.

How a user tries a prompt on one repository before a campaign: the change is left in the
working tree, never committed.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from corral.agents.base import AgentOutcome
from corral.agents.factory import AgentChoice, build_agent
from corral.agents.transcript import JsonlRecorder, MemoryRecorder, TranscriptExistsError
from corral.config import ConfigError, read_prompt
from corral.gate.base import GateResult, Recorder
from corral.gate.gate import StagedGate
from corral.gate.settings import GateSettings, JudgeSettings
from corral.sandbox import Backend, default_cache_dir, make_runner


@dataclass(frozen=True)
class ChangeResult:
    outcome: AgentOutcome
    final_gate: GateResult | None
    """The gate on the change as left in the working tree; None when nothing changed."""
    transcript: Path | None

    @property
    def ok(self) -> bool:
        """The final gate passed on the work of a session that finished: an agent that could
        not run (model unreachable, command crashed) or ran out of budget has not done the
        change, even when the untouched tree passes the gate."""
        finished = self.outcome.status not in ("error", "budget_exhausted")
        return finished and self.final_gate is not None and self.final_gate.ok

    def to_json(self) -> dict[str, Any]:
        usage = self.outcome.usage
        return {
            "ok": self.ok,
            "status": self.outcome.status,
            "reason": self.outcome.reason,
            "turns": self.outcome.turns,
            "usage": {
                "input_tokens": usage.input_tokens,
                "output_tokens": usage.output_tokens,
                "cost_usd": round(usage.cost_usd, 6),
            },
            "gate": None if self.final_gate is None else self.final_gate.to_json(),
            "transcript": None if self.transcript is None else str(self.transcript),
        }


def try_change(
    path: Path,
    *,
    prompt_file: Path | None,
    agent: AgentChoice,
    backend: Backend,
    cache_dir: Path | None,
    transcript: Path | None = None,
) -> ChangeResult:
    """Run one session and the final gate on `path`, leaving the change uncommitted.

    Bad usage (no folder, no prompt, no commit to compare with, no key) raises ConfigError,
    DiffError or ModelAuthError.
    """
    if not path.is_dir():
        raise ConfigError(f"{path} is not a folder")
    if agent.command is not None and prompt_file is not None:
        raise ConfigError("give --prompt FILE or --command CMD, not both")
    if agent.command is not None:
        prompt = command_prompt(agent.command)
    elif prompt_file is None:
        raise ConfigError("give the change to make with --prompt FILE (or --command CMD)")
    else:
        prompt = read_prompt(prompt_file)
    workspace = path.resolve()
    runner = make_runner(backend, workspace=workspace, cache_dir=cache_dir or default_cache_dir())
    chosen = build_agent(agent, runner)
    settings = GateSettings(judge=JudgeSettings(mode="off"))
    gate = StagedGate(workspace, base_ref="HEAD", runner=runner, settings=settings, prompt=prompt)
    recorder = _recorder(transcript)
    try:
        outcome = chosen.run(workspace, prompt, gate, recorder)
    finally:
        if isinstance(recorder, JsonlRecorder):
            recorder.close()
    final = None if outcome.status == "no_change" else outcome.final_gate or gate.check()
    return ChangeResult(outcome, final, transcript)


def _recorder(transcript: Path | None) -> Recorder:
    if transcript is None:
        return MemoryRecorder()
    try:
        return JsonlRecorder(transcript)
    except TranscriptExistsError as exc:
        raise ConfigError(str(exc)) from exc
    except OSError as exc:
        raise ConfigError(f"cannot write the transcript {transcript}: {exc.strerror}") from exc


def command_prompt(command: str) -> str:
    """What stands for the prompt of a change command, in records (as in a campaign's)."""
    return f"Change command: `{command}`"
