"""Surfaces for third-party agents: `corral mcp` and `corral hook claude-stop`.

Both answer with the job's gate (through --job FILE, written by the agent backend) or with
one built on a checkout against --base: by default the branch's upstream (where it forked
from it), or HEAD when it has none; the base chosen is said on stderr.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from corral.cli.app import (
    CacheOpt,
    PathArg,
    SandboxOpt,
    app,
    backend,
    err,
    fail,
    usage_errors,
)

if TYPE_CHECKING:
    from corral.gate.base import Gate

JobOpt = Annotated[
    Path | None,
    typer.Option("--job", envvar="CORRAL_JOB", help="The job file an agent backend wrote."),
]
BaseOpt = Annotated[
    str | None,
    typer.Option(
        "--base",
        help="The git ref the change is judged against (default: the upstream, else HEAD).",
    ),
]
GateSettingsOpt = Annotated[
    Path | None, typer.Option("--settings", help="YAML gate settings (a campaign's gate: block).")
]


@app.command()
def mcp(
    path: PathArg = Path("."),
    base: BaseOpt = None,
    job: JobOpt = None,
    sandbox: SandboxOpt = "bwrap",
    cache_dir: CacheOpt = None,
    settings_file: GateSettingsOpt = None,
) -> None:
    """Serve the `verify` tool over stdio (MCP): the gate on PATH, or on the job's checkout."""
    from corral.mcp import serve_stdio

    serve_stdio(_surface_gate(job, path, base, sandbox, cache_dir, settings_file))


hook_app = typer.Typer(no_args_is_help=True, help="Hooks that third-party agents run.")
app.add_typer(hook_app, name="hook")


@hook_app.command("claude-stop")
def hook_claude_stop(
    base: BaseOpt = None,
    job: JobOpt = None,
    sandbox: SandboxOpt = "bwrap",
    cache_dir: CacheOpt = None,
    settings_file: GateSettingsOpt = None,
) -> None:
    """Claude Code's Stop hook: block with the gate's message until the gate passes."""
    from corral.hooks import HookInputError, claude_stop

    try:
        decision = claude_stop(
            sys.stdin.read(),
            lambda cwd: _surface_gate(job, cwd, base, sandbox, cache_dir, settings_file),
        )
    except HookInputError as exc:
        fail(str(exc))
    if decision is not None:
        print(decision)


def _surface_gate(
    job: Path | None,
    workspace: Path,
    base: str | None,
    sandbox: str,
    cache_dir: Path | None,
    settings_file: Path | None,
) -> Gate:
    """The gate an MCP server or a hook answers with; bad usage exits 2 with the reason."""
    from corral.agents.gate_link import open_gate
    from corral.gate.diff import default_base
    from corral.sandbox import default_cache_dir

    try:
        if job is None and base is None:
            chosen = default_base(workspace.resolve())
            err.print(f"corral: judging the working tree against {chosen.why}", highlight=False)
            base = chosen.ref
        return open_gate(
            job=job,
            workspace=workspace,
            base=base,
            sandbox=backend(sandbox),
            cache_dir=cache_dir or default_cache_dir(),
            settings_file=settings_file,
        )
    except usage_errors() as exc:
        fail(str(exc))
