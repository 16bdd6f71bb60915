"""`corral change`: one agent session (or change command) plus the gate on one checkout."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from corral.cli.app import CacheOpt, JsonOpt, PathArg, SandboxOpt, app, backend, run_body, spinner
from corral.cli.exit_codes import passed

if TYPE_CHECKING:
    from corral.agents.change import ChangeResult


@app.command()
def change(
    path: PathArg = Path("."),
    prompt: Annotated[
        Path | None, typer.Option("--prompt", help="File with the change to make.")
    ] = None,
    command: Annotated[
        str | None,
        typer.Option("--command", help="A deterministic change command (sh -c), not an agent."),
    ] = None,
    agent: Annotated[
        str,
        typer.Option(
            "--agent", help="builtin (corral's own loop, any model) or claude-code (Claude Code)."
        ),
    ] = "builtin",
    provider: Annotated[
        str | None, typer.Option("--provider", envvar="CORRAL_PROVIDER", help="anthropic|openai")
    ] = None,
    model: Annotated[
        str | None, typer.Option("--model", envvar="CORRAL_MODEL", help="The model's name.")
    ] = None,
    base_url: Annotated[
        str | None,
        typer.Option("--base-url", envvar="CORRAL_BASE_URL", help="Another endpoint (vLLM...)."),
    ] = None,
    stream: Annotated[bool, typer.Option("--stream", help="Stream the model's replies.")] = False,
    transcript: Annotated[
        Path | None, typer.Option("--transcript", help="Record the session here (JSONL).")
    ] = None,
    as_json: JsonOpt = False,
    sandbox: SandboxOpt = "bwrap",
    cache_dir: CacheOpt = None,
) -> None:
    """One agent session plus the gate on PATH; the change stays in the working tree,
    uncommitted. Exit 0 when the final gate passes, 1 when not, 2 on bad usage."""

    def body() -> int:
        from corral.agents.change import try_change
        from corral.agents.factory import AgentChoice
        from corral.llm.settings import model_from_options

        settings = model_from_options(provider, model, base_url, stream=stream)
        choice = AgentChoice(agent, settings, command=command)
        with spinner("the agent is working; then the gate checks its change"):
            result = try_change(
                path,
                prompt_file=prompt,
                agent=choice,
                backend=backend(sandbox),
                cache_dir=cache_dir,
                transcript=transcript,
            )
        print(json.dumps(result.to_json(), indent=2) if as_json else _text(result))
        return passed(result.ok)

    run_body(body)


def _text(result: ChangeResult) -> str:
    outcome = result.outcome
    lines = [f"{outcome.status}: {outcome.reason}"]
    if result.final_gate is not None:
        lines.append(result.final_gate.message)
    usage = outcome.usage
    lines.append(f"{outcome.turns} turns, {usage.total_tokens} tokens, ${usage.cost_usd:.4f}")
    return "\n".join(lines)
