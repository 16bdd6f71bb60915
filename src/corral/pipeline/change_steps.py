"""A change in steps: deterministic commands, then agents, in one job (`steps` in the spec).

Each step is its own session in the job's timeline, with its own gate run. The change
accumulates in the workspace (no reset between steps). An agent step starts from what the
steps before it left: their diff and the gate's findings on it; it is skipped when that
change already passes the gate (nothing is left to fix). A command that fails (non-zero
exit, out of time) ends the job as a single command would.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import TypeVar

from corral.agents.base import AgentOutcome
from corral.agents.factory import AgentChoice, build_agent
from corral.forge.git import git
from corral.gate.base import Gate, Recorder
from corral.git.worktree import working_tree
from corral.pipeline.context import CampaignContext
from corral.sandbox.base import CommandRunner
from corral.spec import StepSpec
from corral.store.records import Job

MAX_DIFF_CHARS = 20_000
"""How much of the change so far an agent step is shown (the rest it can read itself)."""

G = TypeVar("G", bound=Gate)
"""The job's gate type (the pipeline's WatchedGate, which remembers the tree that passed)."""


def run_steps(
    ctx: CampaignContext,
    job: Job,
    workspace: Path,
    runner: CommandRunner,
    gate_for: Callable[[Recorder], G],
) -> tuple[AgentOutcome, G]:
    """Run the campaign's steps in order; the last step run decides the outcome.
    `gate_for` makes the gate of one step's session, recording into it."""
    steps = ctx.spec.steps or []
    outcome: AgentOutcome | None = None
    gate: G | None = None
    for number, step in enumerate(steps, 1):
        if outcome is not None and outcome.status in ("error", "budget_exhausted"):
            break
        if step.command is None and outcome is not None and outcome.status == "passed":
            ctx.store.add_event(
                job.id, "step_skipped", {"step": number, "why": "the change passes the gate"}
            )
            continue
        recorder = ctx.store.start_session(job.id, _agent_name(ctx, step), f"step {number}")
        gate = gate_for(recorder)
        agent = build_agent(_choice(ctx, job, step), runner)
        prompt = step.command or _agent_prompt(step, workspace, outcome)
        outcome = agent.run(workspace, prompt, gate, recorder)
        recorder.finish(outcome.status, outcome.reason, outcome.usage, outcome.turns)
    assert outcome is not None and gate is not None  # the spec has at least one step
    return outcome, gate


def _choice(ctx: CampaignContext, job: Job, step: StepSpec) -> AgentChoice:
    agent, budgets = ctx.spec.agent, ctx.spec.budgets.job
    stop = partial(ctx.ended_meanwhile, job)
    return AgentChoice(agent.kind, agent.model, budgets=budgets, command=step.command, stop=stop)


def _agent_name(ctx: CampaignContext, step: StepSpec) -> str:
    return "command" if step.command is not None else ctx.spec.agent.kind


def _agent_prompt(step: StepSpec, workspace: Path, before: AgentOutcome | None) -> str:
    prompt = step.prompt or ""
    if before is None:
        return prompt
    diff = change_so_far(workspace)
    shown = diff[:MAX_DIFF_CHARS] + ("\n[... diff cut ...]" if len(diff) > MAX_DIFF_CHARS else "")
    findings = (
        before.final_gate.message
        if before.final_gate is not None
        else f"(the gate did not run: {before.reason})"
    )
    return (
        f"{prompt}\n\nThe steps before you already changed this repository. Their change "
        f"so far (git diff):\n\n```diff\n{shown or '(no change)'}\n```\n\n"
        f"The gate's findings on it:\n\n{findings}\n\n"
        "Start from there: keep what is right, fix what the gate found, then call verify."
    )


def change_so_far(workspace: Path) -> str:
    """The change in the workspace against its commit, new files included and build output
    left out (the tree the gate sees), through corral's hardened git."""
    tree = working_tree(workspace)
    return git("diff", "--no-ext-diff", "--no-textconv", "HEAD", tree, "--", ".", cwd=workspace)
