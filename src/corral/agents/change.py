"""The body of `corral change`: one agent session plus the gate on one checkout.

How a user tries a prompt on one repository before a campaign: the change is left in the
working tree, never committed. cli.py only declares the options. `make_agent` is where each
kind of agent is chosen; new kinds (claude-code, a change command) are a branch there.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from corral.agents.base import Agent, AgentOutcome, Budgets, Recorder
from corral.agents.builtin import BuiltinAgent
from corral.agents.transcript import JsonlRecorder, MemoryRecorder
from corral.config import ConfigError
from corral.gate.base import GateResult
from corral.gate.gate import StagedGate
from corral.gate.settings import GateSettings, JudgeSettings
from corral.llm.settings import ModelSettings, make_model
from corral.sandbox import Backend, CommandRunner, default_cache_dir, make_runner

EXIT_OK, EXIT_FAILED = 0, 1
AGENT_KINDS = ("builtin", "claude-code")


@dataclass(frozen=True)
class AgentChoice:
    """Which agent to run and with what: what `corral change` and a campaign spec decide."""

    kind: str
    model: ModelSettings | None = None
    budgets: Budgets = field(default_factory=Budgets)
    command: str | None = None
    """A deterministic change command (`sh -c`), run instead of any agent when given."""


def model_settings(
    provider: str | None, model: str | None, base_url: str | None, *, stream: bool = False
) -> ModelSettings | None:
    """Model settings from command-line options; None when none were given."""
    if provider is None and model is None and base_url is None:
        return None
    if provider not in ("anthropic", "openai") or not model:
        raise ConfigError("the model needs --provider (anthropic or openai) and --model")
    return ModelSettings.model_validate(
        {"provider": provider, "model": model, "base_url": base_url, "stream": stream}
    )


def make_agent(choice: AgentChoice, runner: CommandRunner) -> Agent:
    """The agent for `choice`. Raises ConfigError for an unknown or incomplete choice and
    ModelAuthError when the model's key is missing."""
    if choice.command is not None:
        from corral.agents.command import CommandAgent

        return CommandAgent(choice.command, runner, choice.budgets)
    if choice.kind in AGENT_KINDS and choice.model is None:
        raise ConfigError(f"the {choice.kind} agent needs a model: --provider and --model")
    if choice.kind == "builtin" and choice.model is not None:
        return BuiltinAgent(make_model(choice.model), choice.budgets)
    if choice.kind == "claude-code" and choice.model is not None:
        from corral.agents.claude_code import ClaudeCodeAgent

        return ClaudeCodeAgent(choice.model, choice.budgets)
    raise ConfigError(f"unknown agent {choice.kind!r}; known: {', '.join(AGENT_KINDS)}")


def change_command(
    path: Path,
    *,
    prompt_file: Path | None,
    agent: AgentChoice,
    backend: Backend,
    cache_dir: Path | None,
    transcript: Path | None = None,
    as_json: bool = False,
    echo: Callable[[str], None] = print,
) -> int:
    """Exit 0 when the final gate passes, 1 when it does not or nothing was changed.

    Bad usage (no folder, no prompt, no commit to compare with, no key) raises ConfigError,
    DiffError or ModelAuthError for cli.py to report with exit code 2.
    """
    if not path.is_dir():
        raise ConfigError(f"{path} is not a folder")
    if agent.command is not None and prompt_file is not None:
        raise ConfigError("give --prompt FILE or --command CMD, not both")
    prompt = read_prompt(prompt_file) if agent.command is None else command_prompt(agent.command)
    workspace = path.resolve()
    runner = make_runner(backend, workspace=workspace, cache_dir=cache_dir or default_cache_dir())
    chosen = make_agent(agent, runner)
    settings = GateSettings(judge=JudgeSettings(mode="off"))
    gate = StagedGate(workspace, base_ref="HEAD", runner=runner, settings=settings, prompt=prompt)
    recorder: Recorder = JsonlRecorder(transcript) if transcript else MemoryRecorder()
    try:
        outcome = chosen.run(workspace, prompt, gate, recorder)
    finally:
        if isinstance(recorder, JsonlRecorder):
            recorder.close()
    final = None if outcome.status == "no_change" else outcome.final_gate or gate.check()
    echo(_render(outcome, final, transcript, as_json))
    return EXIT_OK if _succeeded(outcome, final) else EXIT_FAILED


def _succeeded(outcome: AgentOutcome, final: GateResult | None) -> bool:
    """The final gate passed on the work of a session that did not fail: an agent that could
    not run (model unreachable, command crashed) has made no change worth keeping."""
    return outcome.status != "error" and final is not None and final.ok


def command_prompt(command: str) -> str:
    """What stands for the prompt of a change command, in records (as in a campaign's)."""
    return f"Change command: `{command}`"


def read_prompt(prompt_file: Path | None) -> str:
    if prompt_file is None:
        raise ConfigError("give the change to make with --prompt FILE (or --command CMD)")
    try:
        text = prompt_file.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read the prompt {prompt_file}: {exc.strerror}") from exc
    if not text.strip():
        raise ConfigError(f"the prompt {prompt_file} is empty")
    return text


def _render(
    outcome: AgentOutcome, final: GateResult | None, transcript: Path | None, as_json: bool
) -> str:
    usage = {
        "input_tokens": outcome.usage.input_tokens,
        "output_tokens": outcome.usage.output_tokens,
        "cost_usd": round(outcome.usage.cost_usd, 6),
    }
    if as_json:
        report: dict[str, Any] = {
            "ok": _succeeded(outcome, final),
            "status": outcome.status,
            "reason": outcome.reason,
            "turns": outcome.turns,
            "usage": usage,
            "gate": None if final is None else final.to_json(),
            "transcript": None if transcript is None else str(transcript),
        }
        return json.dumps(report, indent=2)
    lines = [f"{outcome.status}: {outcome.reason}"]
    if final is not None:
        lines.append(final.message)
    lines.append(
        f"{outcome.turns} turns, {outcome.usage.total_tokens} tokens, ${usage['cost_usd']:.4f}"
    )
    return "\n".join(lines)
