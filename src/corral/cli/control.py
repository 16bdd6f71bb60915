"""Steering a campaign: pause, resume, cancel (the library calls of corral.engine.control).

Exit codes: 0 done; 1 cancel could not close every PR (run it again); 2 bad usage or no
such campaign. `resume` drives the campaign again on the engine it ran on and exits as
`run` does (cli.exit_codes.for_verdict).
"""

from __future__ import annotations

import getpass
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from corral.cli.app import CacheOpt, JsonOpt, SandboxOpt, StoreOpt, app, backend, err, run_body
from corral.cli.campaign import (
    CampaignArg,
    VerboseOpt,
    WorkDirOpt,
    open_store,
    report_campaign,
    runtime_from,
)
from corral.cli.exit_codes import ExitCode

ByOpt = Annotated[str | None, typer.Option(help="Who does it, for the record (default: you).")]


@app.command()
def pause(
    campaign: CampaignArg,
    reason: Annotated[str | None, typer.Option("--reason", help="Why, for the record.")] = None,
    by: ByOpt = None,
    store: StoreOpt = None,
) -> None:
    """Stop admitting jobs; the jobs under way go on to their PR or their wait."""

    def body() -> int:
        from corral.engine import control
        from corral.pipeline.jobs import find_campaign

        with open_store(store) as opened:
            record = find_campaign(opened, campaign)
            paused = control.pause(opened, record, by=by or getpass.getuser(), reason=reason)
        print(f"campaign {paused.name} {paused.paused}: corral resume {paused.name} goes on")
        return ExitCode.OK

    run_body(body)


@app.command()
def resume(
    campaign: CampaignArg,
    spec: Annotated[
        Path | None, typer.Option("--spec", help="Go on with this (fixed) spec of the campaign.")
    ] = None,
    store: StoreOpt = None,
    work_dir: WorkDirOpt = None,
    cache_dir: CacheOpt = None,
    sandbox: SandboxOpt = "bwrap",
    verbose: VerboseOpt = False,
    as_json: JsonOpt = False,
) -> None:
    """Admit jobs again (with approve_waves: let the next wave start) and drive the campaign
    on the engine it ran on; a rollout's failure rate counts jobs settled from now on."""

    def body() -> int:
        from corral.cli.render import CampaignProgress, interruptible
        from corral.engine import control
        from corral.engine.campaign import recorded_engine, resume_campaign
        from corral.pipeline.context import context_for
        from corral.pipeline.jobs import find_campaign
        from corral.spec import load_spec

        runtime = runtime_from(store, work_dir, cache_dir, backend(sandbox))
        fixed = None if spec is None else load_spec(spec)
        with open_store(runtime.store_url) as opened:
            found = find_campaign(opened, campaign)
            record = control.resume(opened, found, spec=fixed, runtime=runtime)
            err.print(f"resuming {escape(record.name)}")
            progress = CampaignProgress(err, verbose)
            with interruptible(f"`corral resume {record.name}` goes on"), progress.shown():
                progress.start(context_for(record, runtime, opened))
                summary = resume_campaign(
                    opened,
                    record,
                    runtime,
                    engine=recorded_engine(record),
                    on_change=progress.on_change,
                )
            return report_campaign(summary, as_json)

    run_body(body)


@app.command()
def cancel(
    campaign: CampaignArg,
    delete_branches: Annotated[
        bool, typer.Option("--delete-branches", help="Also delete the closed PRs' branches.")
    ] = False,
    by: ByOpt = None,
    store: StoreOpt = None,
    work_dir: WorkDirOpt = None,
) -> None:
    """End the campaign: no job starts any more, every job not yet done ends, and every open
    PR is closed with a comment (its branch deleted with --delete-branches)."""

    def body() -> int:
        from corral.engine import control
        from corral.pipeline.context import context_for
        from corral.pipeline.jobs import find_campaign

        runtime = runtime_from(store, work_dir, None, "local")
        with open_store(runtime.store_url) as opened:
            record = find_campaign(opened, campaign)
            ctx = context_for(record, runtime, opened)
            done = control.cancel(ctx, by=by or getpass.getuser(), delete_branches=delete_branches)
        print(
            f"campaign {record.name} cancelled: {len(done.ended)} job(s) ended, "
            f"{len(done.closed)} pull request(s) closed"
        )
        for url in done.closed:
            print(f"  closed {url}")
        for error in done.errors:
            err.print(f"[red]not closed:[/] {escape(error)}")
        return ExitCode.FAILED if done.errors else ExitCode.OK

    run_body(body)
