"""Campaign commands: run, status, retry, logs, approve, reject, worker, schema.

Exit codes of run, retry and status CAMPAIGN: see `cli.exit_codes.for_verdict`.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from corral.cli.app import (
    CacheOpt,
    JsonOpt,
    SandboxOpt,
    StoreOpt,
    app,
    backend,
    err,
    fail,
    run_body,
)
from corral.cli.exit_codes import ExitCode, for_verdict

if TYPE_CHECKING:
    from corral.cli.render import CampaignProgress
    from corral.pipeline.context import CampaignContext, Runtime
    from corral.pipeline.summary import CampaignSummary
    from corral.sandbox import Backend
    from corral.store import Store

WorkDirOpt = Annotated[
    Path | None,
    typer.Option("--work-dir", envvar="CORRAL_WORK_DIR", help="Where checkouts are kept."),
]
EngineOpt = Annotated[
    str, typer.Option("--engine", help="local (in-process threads) or temporal (a worker fleet).")
]
TemporalAddressOpt = Annotated[
    str | None,
    typer.Option(
        "--temporal-address",
        help="HOST:PORT of Temporal (default: Temporal's own configuration, TEMPORAL_ADDRESS).",
    ),
]
VerboseOpt = Annotated[bool, typer.Option("--verbose", "-v", help="One line per repository step.")]
CampaignArg = Annotated[str, typer.Argument(help="Campaign name or id.")]
WaitForLeaseOpt = Annotated[
    bool,
    typer.Option(
        "--wait-for-lease",
        help="Another run works this campaign: wait until it ends instead of exiting 2.",
    ),
]
JobArg = Annotated[int, typer.Argument(help="Job id (see corral status).")]


@app.command()
def run(
    spec: Annotated[Path, typer.Argument(help="The campaign spec (YAML).")],
    engine: EngineOpt = "local",
    store: StoreOpt = None,
    work_dir: WorkDirOpt = None,
    cache_dir: CacheOpt = None,
    sandbox: SandboxOpt = "bwrap",
    verbose: VerboseOpt = False,
    wait: Annotated[
        bool, typer.Option("--wait", help="Keep running while jobs wait for approval.")
    ] = False,
    as_json: JsonOpt = False,
    temporal_address: TemporalAddressOpt = None,
    wait_for_lease: WaitForLeaseOpt = False,
) -> None:
    """Run a campaign, or resume it: every repository goes as far as it can. One run works a
    campaign at a time: a second one says who holds it and exits 2 (or waits)."""

    def body() -> int:
        from rich.markup import escape

        from corral.cli.render import CampaignProgress, interruptible
        from corral.config import ConfigError
        from corral.engine.campaign import make_engine, run_campaign
        from corral.spec import load_spec

        runtime = runtime_from(store, work_dir, cache_dir, backend(sandbox), wait_for_lease)
        try:
            loaded = load_spec(spec)
        except ConfigError as exc:
            err.print(f"[red]invalid spec:[/] {escape(str(exc))}")
            return ExitCode.USAGE
        options = engine_options(engine, temporal_address)
        chosen = make_engine(engine, **options, **({"wait_for_approval": True} if wait else {}))
        progress = CampaignProgress(err, verbose)
        with interruptible(f"`corral run {spec}` resumes it"), progress.shown():
            summary = run_campaign(
                loaded,
                runtime,
                engine=chosen,
                on_change=progress.on_change,
                on_start=lambda ctx: _start(ctx, progress),
            )
        return report_campaign(summary, as_json)

    run_body(body)


@app.command()
def status(
    campaign: Annotated[str | None, typer.Argument(help="Campaign name or id.")] = None,
    store: StoreOpt = None,
    as_json: JsonOpt = False,
    show_all: Annotated[
        bool, typer.Option("--all", help="Every repository (the table shows 100 at most).")
    ] = False,
) -> None:
    """Campaigns, or one campaign's outcomes per repository (exit code as for run)."""

    def body() -> int:
        with open_store(store) as opened:
            if campaign is not None:
                from corral.pipeline.jobs import find_campaign
                from corral.pipeline.summary import summarize

                summary = summarize(opened, find_campaign(opened, campaign))
                return report_campaign(summary, as_json, show_all)
            if as_json:
                from corral.pipeline.job_log import plain

                print(json.dumps([plain(c) for c in opened.campaigns()], indent=2))
            else:
                from corral.cli.render import campaigns_table, stdout_console

                stdout_console().print(campaigns_table(opened))
            return ExitCode.OK

    run_body(body)


@app.command()
def retry(
    campaign: CampaignArg,
    failed: Annotated[
        bool, typer.Option("--failed", help="Re-run the jobs that ended without a PR.")
    ] = False,
    engine: EngineOpt = "local",
    store: StoreOpt = None,
    work_dir: WorkDirOpt = None,
    cache_dir: CacheOpt = None,
    sandbox: SandboxOpt = "bwrap",
    verbose: VerboseOpt = False,
    as_json: JsonOpt = False,
    temporal_address: TemporalAddressOpt = None,
) -> None:
    """Re-run a campaign's failed repositories from its stored spec."""
    if not failed:
        fail("say what to retry: --failed")

    def body() -> int:
        from rich.markup import escape

        from corral.cli.render import CampaignProgress, interruptible
        from corral.engine.campaign import make_engine, resume_campaign
        from corral.pipeline.context import context_for
        from corral.pipeline.jobs import find_campaign, retry_failed

        runtime = runtime_from(store, work_dir, cache_dir, backend(sandbox))
        chosen = make_engine(engine, **engine_options(engine, temporal_address))
        with open_store(runtime.store_url) as opened:
            record = find_campaign(opened, campaign)
            retried = retry_failed(opened, record)
            err.print(f"retrying {len(retried)} job(s) of {escape(record.name)}")
            progress = CampaignProgress(err, verbose)
            with (
                interruptible(f"`corral retry {record.name} --failed` resumes it"),
                progress.shown(),
            ):
                progress.start(context_for(record, runtime, opened))
                summary = resume_campaign(
                    opened, record, runtime, engine=chosen, on_change=progress.on_change
                )
            return report_campaign(summary, as_json)

    run_body(body)


@app.command()
def logs(job: JobArg, store: StoreOpt = None, as_json: JsonOpt = False) -> None:
    """One job's record: transitions, agent sessions with every call, gate verdicts."""

    def body() -> int:
        from corral.cli.render import print_job_log, stdout_console
        from corral.pipeline.job_log import job_log

        with open_store(store) as opened:
            if as_json:
                print(json.dumps(job_log(opened, job), indent=2))
            else:
                print_job_log(stdout_console(), opened, job)
        return ExitCode.OK

    run_body(body)


@app.command()
def approve(
    job: Annotated[int, typer.Argument(help="Job id awaiting approval.")],
    by: Annotated[str | None, typer.Option(help="Who approves (default: you).")] = None,
    store: StoreOpt = None,
) -> None:
    """Approve a held job's diff; the engine running the campaign pushes it and opens the PR
    (a Temporal workflow is told at once; a local `corral run --wait` sees it)."""
    run_body(lambda: _decide(store, job, None, by))


@app.command()
def reject(
    job: Annotated[int, typer.Argument(help="Job id awaiting approval.")],
    reason: Annotated[str, typer.Option("--reason", help="Why, for the record.")],
    by: Annotated[str | None, typer.Option(help="Who rejects (default: you).")] = None,
    store: StoreOpt = None,
) -> None:
    """Reject a held job's diff; it ends without a PR."""
    run_body(lambda: _decide(store, job, reason, by))


def _decide(store: str | None, job: int, reason: str | None, by: str | None) -> int:
    from corral.engine.campaign import tell_engine
    from corral.pipeline import jobs

    verdict: jobs.Verdict = "approved" if reason is None else "rejected"
    with open_store(store) as opened:
        decided = jobs.decide(opened, job, verdict, hook=tell_engine, by=by, reason=reason)
    print(f"job {job} {verdict}: {decided.engine_note}")
    return ExitCode.OK


@app.command()
def worker(
    temporal_address: TemporalAddressOpt = None,
    store: StoreOpt = None,
    work_dir: WorkDirOpt = None,
    cache_dir: CacheOpt = None,
    sandbox: SandboxOpt = "bwrap",
    max_jobs: Annotated[
        int, typer.Option("--max-jobs", min=1, help="Job steps this worker runs at once.")
    ] = 4,
) -> None:
    """Run a Temporal worker: this machine takes campaign jobs until stopped (SIGINT/SIGTERM).
    Namespace, TLS and task queue come from configuration (see the README's worker fleet)."""

    def body() -> int:
        from corral.engine.temporal.devserver import READY
        from corral.engine.temporal.settings import TemporalSettings
        from corral.engine.temporal.worker import worker_command

        runtime = runtime_from(store, work_dir, cache_dir, backend(sandbox))

        def ready(detail: str) -> None:
            print(f"{READY}: {detail}", file=sys.stderr, flush=True)

        worker_command(TemporalSettings.from_env(temporal_address), runtime, max_jobs, ready)
        return ExitCode.OK

    run_body(body)


@app.command()
def schema() -> None:
    """Print the campaign spec's JSON Schema."""
    from corral.spec import spec_json_schema

    print(json.dumps(spec_json_schema(), indent=2))


def report_campaign(summary: CampaignSummary, as_json: bool, show_all: bool = False) -> int:
    code = for_verdict(summary.verdict)
    if as_json:
        print(_json_one_job_a_line({**summary.to_json(), "exit_code": int(code)}))
        return code
    # the tables' imports (Rich's tables, the sandbox's process list) are not JSON's to pay
    from rich.markup import escape

    from corral.cli.render import TABLE_ROWS, counts_line, outcome_table, stdout_console
    from corral.states import JobState

    out = stdout_console()
    out.print(outcome_table(summary, limit=None if show_all else TABLE_ROWS))
    out.print(counts_line(summary))
    if summary.campaign.paused:
        out.print(f"campaign {escape(summary.campaign.name)} {escape(summary.campaign.paused)}")
    waiting = [line.job for line in summary.lines if line.job.state == JobState.AWAITING_APPROVAL]
    for job in waiting[:WAITING_SHOWN]:
        out.print(f"job {job.id} ({escape(job.name)}) waits: corral approve {job.id}")
    if len(waiting) > WAITING_SHOWN:
        out.print(f"... and {len(waiting) - WAITING_SHOWN} more jobs wait for approval")
    return code


def _json_one_job_a_line(data: dict[str, Any]) -> str:
    """Indented, each job on one line: Python's indenting encoder is pure Python, 4x slower
    than the C one that writes a line, which was a quarter of `status --json` on 10,000 jobs."""
    jobs = data.pop("jobs")
    head = json.dumps({**data, "jobs": []}, indent=2)
    if not jobs:
        return head
    lines = ",\n".join(f"    {json.dumps(job)}" for job in jobs)
    return head.replace('"jobs": []', f'"jobs": [\n{lines}\n  ]', 1)


def _start(ctx: CampaignContext, progress: CampaignProgress) -> None:
    """Say what differs from the spec the campaign last ran with, then show the progress."""
    from rich.markup import escape

    for line in ctx.changes:
        err.print(f"spec: {escape(line)}", highlight=False)
    progress.start(ctx)


WAITING_SHOWN = 10


def runtime_from(
    store: str | None,
    work_dir: Path | None,
    cache_dir: Path | None,
    sandbox: Backend,
    wait_for_lease: bool = False,
) -> Runtime:
    import math

    from corral.pipeline.context import Runtime, default_work_dir
    from corral.store import default_store_url

    return Runtime(
        store_url=store or default_store_url(),
        work_dir=work_dir or default_work_dir(),
        cache_dir=cache_dir,
        sandbox=sandbox,
        wait_for_lease_s=math.inf if wait_for_lease else None,
    )


def engine_options(engine: str, temporal_address: str | None) -> dict[str, Any]:
    """The chosen engine's settings from the options and configuration."""
    from corral.config import ConfigError

    if engine != "temporal":
        if temporal_address:
            raise ConfigError("--temporal-address needs --engine temporal")
        return {}
    from corral.engine.temporal.settings import TemporalSettings

    return {"settings": TemporalSettings.from_env(temporal_address)}


@contextmanager
def open_store(url: str | None) -> Iterator[Store]:
    from corral.store import Store, default_store_url

    store = Store.open(url or default_store_url())
    try:
        yield store
    finally:
        store.close()
