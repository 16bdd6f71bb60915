"""`corral demo`: build sample repositories, run a campaign over them, show the outcomes."""

from __future__ import annotations

import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.markup import escape

from corral.cli.app import StoreOpt, app, err, run_body
from corral.cli.exit_codes import ExitCode

if TYPE_CHECKING:
    from corral.demo import DemoRepo
    from corral.pipeline.summary import CampaignSummary


@app.command()
def demo(
    directory: Annotated[
        Path | None, typer.Option("--dir", help="Where to build the demo (default: a temp dir).")
    ] = None,
    agent: Annotated[
        str, typer.Option("--agent", help="command (deterministic) or builtin (needs a key).")
    ] = "command",
    store: StoreOpt = None,
    sandbox: Annotated[
        str | None, typer.Option("--sandbox", help="bwrap or local (default: bwrap if usable).")
    ] = None,
) -> None:
    """Build sample repositories, run a campaign over them, show the outcomes."""
    run_body(lambda: _demo(directory, agent, store, sandbox))


def _demo(directory: Path | None, agent: str, store_url: str | None, sandbox: str | None) -> int:
    """0 when the demo showed what it should."""
    from corral.cli.render import CampaignProgress, counts_line, interruptible, outcome_table
    from corral.demo import run_demo

    out = Console()
    directory = (directory or Path(tempfile.mkdtemp(prefix="corral-demo-"))).resolve()
    err.print(f"Building the demo's repositories in {escape(str(directory))}")
    started = time.monotonic()
    progress = CampaignProgress(err)
    with interruptible("`corral demo` runs it again from the start"), progress.shown():
        summary, repos = run_demo(
            directory,
            agent=agent,
            store_url=store_url,
            sandbox=sandbox,
            warn=lambda text: err.print(f"[yellow]warning:[/] {escape(text)}"),
            on_start=progress.start,
            on_change=progress.on_change,
        )
    out.print(outcome_table(summary))
    out.print(f"{counts_line(summary)} in {time.monotonic() - started:.0f}s\n")
    surprises = _explain(out, summary, repos, agent)
    _how_to_look_closer(out, summary, directory, store_url)
    if surprises and agent == "command":
        out.print(f"[red]The demo did not go as expected for: {', '.join(surprises)}[/]")
        return ExitCode.FAILED
    return ExitCode.OK


def _explain(
    out: Console, summary: CampaignSummary, repos: list[DemoRepo], agent: str
) -> list[str]:
    from corral.demo import as_expected

    by_name = {line.job.name: line for line in summary.lines}
    surprises = []
    for repo in repos:
        expected = as_expected(by_name[repo.name], repo)
        if agent == "command":
            story = repo.story if expected else f"expected {repo.expect}"
            out.print(f"  {repo.name}: {escape(story)}")
        if not expected:
            surprises.append(repo.name)
    return surprises


def _how_to_look_closer(
    out: Console, summary: CampaignSummary, directory: Path, store_url: str | None
) -> None:
    from corral.demo import CAMPAIGN
    from corral.states import Outcome

    corral = _program()
    store = f" --store {store_url}" if store_url else ""
    vetoed = next((line.job for line in summary.lines if line.outcome == Outcome.NO_PR), None)
    opened = next((line for line in summary.lines if line.pull_request is not None), None)
    hints = [(f"{corral} status {CAMPAIGN}{store}", "outcomes per repository")]
    if vetoed is not None:
        hints.append((f"{corral} logs {vetoed.id}{store}", f"why {vetoed.name} got no PR"))
    if opened is not None and opened.pull_request is not None:
        pr = opened.pull_request
        hints.append((f"git -C {pr.repo} log -p {pr.branch} -1", "a PR's change"))
    hints.append((f"{corral} serve{store}", "the dashboard"))
    width = max(len(command) for command, _ in hints)
    out.print("\nLook closer:")
    for command, what in hints:
        out.print(f"  {escape(command.ljust(width))}  # {escape(what)}", soft_wrap=True)
    out.print(f"  spec: {escape(str(directory / 'campaign.yaml'))}", soft_wrap=True)


def _program() -> str:
    """How to run corral again: `corral` when it is on PATH, else as it was run now
    (`.venv/bin/corral` straight after scripts/setup.sh)."""
    return "corral" if shutil.which("corral") else (sys.argv[0] or "corral")
