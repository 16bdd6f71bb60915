"""What the campaign commands of `corral` print: live progress, outcome tables, session logs.

cli.py parses options and calls these; the logic they show lives in corral.campaigns.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.live import Live
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from corral.campaigns import (
    CampaignSummary,
    ExitCode,
    JobLine,
    approve,
    find_campaign,
    make_engine,
    reject,
    resume_campaign,
    retry_failed,
    run_campaign,
    summarize,
)
from corral.config import ConfigError
from corral.pipeline.context import (
    CampaignContext,
    Runtime,
    context_for,
    default_work_dir,
)
from corral.pipeline.states import TERMINAL, JobState, Outcome
from corral.sandbox import Backend
from corral.sandbox.local import kill_running
from corral.spec import load_spec
from corral.store import Store, default_store_url
from corral.store.records import Event, Job

_OUTCOME_STYLE = {
    Outcome.NO_PR: "red",
    Outcome.PR_FAILED_CI: "red",
    Outcome.PR_OPEN: "green",
    Outcome.MERGED: "bold green",
    Outcome.CLOSED: "yellow",
    Outcome.AWAITING_APPROVAL: "cyan",
    Outcome.IN_PROGRESS: "dim",
}
_SETTLED = TERMINAL | {JobState.PR_OPEN, JobState.CI_FAILED, JobState.AWAITING_APPROVAL}


class CampaignProgress:
    """A bar over the campaign's jobs and a line of counts per state; lines per repository
    when `verbose`. Callbacks come from the engine's threads."""

    def __init__(self, console: Console, verbose: bool = False) -> None:
        self.console = console
        self.verbose = verbose
        self._lock = threading.Lock()
        self._states: dict[int, JobState] = {}
        self._progress = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            TextColumn("{task.fields[counts]}"),
            console=console,
            transient=False,
        )
        self._task = self._progress.add_task("campaign", total=0, counts="")

    def start(self, ctx: CampaignContext) -> None:
        jobs = ctx.store.jobs(ctx.campaign.id)
        with self._lock:
            self._states = {job.id: job.state for job in jobs}
            self._progress.update(self._task, description=ctx.campaign.name, total=len(jobs))
            self._refresh()

    def on_change(self, job: Job) -> None:
        with self._lock:
            previous = self._states.get(job.id)
            self._states[job.id] = job.state
            self._refresh()
        if self.verbose and previous != job.state:
            reason = f"  {escape(job.reason)}" if job.reason else ""
            self.console.print(f"  [dim]#{job.id}[/] {escape(job.name)}: {job.state}{reason}")

    def _refresh(self) -> None:
        counts = Counter(self._states.values())
        text = "  ".join(f"{state}: {n}" for state, n in sorted(counts.items()))
        settled = sum(n for state, n in counts.items() if state in _SETTLED)
        self._progress.update(self._task, completed=settled, counts=text)

    @contextmanager
    def shown(self) -> Iterator[CampaignProgress]:
        if not self.console.is_terminal:
            self.verbose = True  # no live display: one line per change instead
            yield self
            return
        with Live(self._progress, console=self.console, refresh_per_second=4):
            yield self


def outcome_table(summary: CampaignSummary) -> Table:
    table = Table(title=f"campaign {summary.campaign.name}", title_justify="left")
    for column in ("job", "repository", "outcome", "state", "why / pull request"):
        table.add_column(column, overflow="fold")
    for line in summary.lines:
        style = _OUTCOME_STYLE[line.outcome]
        table.add_row(
            str(line.job.id),
            escape(line.job.name),
            f"[{style}]{line.outcome}[/]",
            str(line.job.state),
            escape(_why(line)),
        )
    return table


def counts_line(summary: CampaignSummary) -> str:
    counts = summary.counts
    return ", ".join(f"{n} {outcome}" for outcome, n in counts.most_common())


def _why(line: JobLine) -> str:
    pr = line.pull_request
    if pr is None:
        return line.job.reason or ""
    ci = f" (CI {pr.ci.state})" if pr.ci.state != "none" else ""
    if line.outcome == Outcome.PR_FAILED_CI and line.job.reason:
        return f"{pr.url}{ci}: {line.job.reason}"
    return f"{pr.url}{ci}"


def campaigns_table(store: Store) -> Table:
    table = Table(title="campaigns", title_justify="left")
    for column in ("id", "name", "jobs", "outcomes", "started"):
        table.add_column(column)
    for campaign in store.campaigns():
        jobs = store.jobs(campaign.id)
        counts = Counter(job.outcome for job in jobs)
        table.add_row(
            str(campaign.id),
            campaign.name,
            str(len(jobs)),
            ", ".join(f"{n} {o}" for o, n in counts.most_common()),
            campaign.created_at.strftime("%Y-%m-%d %H:%M"),
        )
    return table


def job_log(store: Store, job_id: int) -> dict[str, Any]:
    """Everything recorded about one job, as JSON-ready data."""
    job = store.job(job_id)
    pr = store.pull_request_for_job(job_id)
    return {
        "job": _plain(job),
        "pull_request": None if pr is None else _plain(pr),
        "transitions": [_plain(t) for t in store.transitions(job_id)],
        "baseline": [_plain(run) for run in store.verifier_runs(job_id, "baseline")],
        "sessions": [
            {**_plain(session), "events": [_plain(e) for e in store.events(job_id, session.id)]}
            for session in store.sessions(job_id)
        ],
        "events": [_plain(e) for e in store.events(job_id) if e.session_id is None],
        "gate_verdicts": [_plain(v) for v in store.gate_verdicts(job_id)],
        "approvals": [_plain(a) for a in store.approvals(job_id)],
        "feedback": [_plain(f) for f in store.feedback(job_id)],
    }


def print_job_log(console: Console, store: Store, job_id: int) -> None:
    """The job's story, readable: transitions, then each session's calls and gate runs."""
    job = store.job(job_id)
    pr = store.pull_request_for_job(job_id)
    console.print(f"[bold]job {job.id}[/] {escape(job.name)} ({escape(job.repo)})")
    console.print(
        f"  state: {job.state} ({job.outcome})" + (f" — {escape(job.reason)}" if job.reason else "")
    )
    if pr is not None:
        console.print(f"  pull request: {escape(pr.url)} ({pr.state}), CI {pr.ci.state}")
    console.print("\n[bold]transitions[/]")
    for t in store.transitions(job_id):
        why = f"  {escape(t.reason)}" if t.reason else ""
        console.print(f"  {t.at:%H:%M:%S} {t.from_state or '-'} -> {t.to_state}{why}")
    baseline = store.verifier_runs(job_id, "baseline")
    if baseline:
        console.print("\n[bold]baseline[/]")
        for run in baseline:
            mark = "[green]ok[/]" if run.ok else f"[red]{len(run.findings)} finding(s)[/]"
            console.print(f"  {run.name} in {run.project}: {mark} ({run.duration_s:.1f}s)")
    for session in store.sessions(job_id):
        console.print(
            f"\n[bold]session {session.id}[/] ({session.agent}, {session.purpose}): "
            f"{session.status or 'unfinished'} — {escape(session.reason or '')}"
        )
        console.print(
            f"  turns {session.turns}, tokens {session.input_tokens}+{session.output_tokens}, "
            f"cost ${session.cost_usd:.4f}"
        )
        for event in store.events(job_id, session.id):
            _print_event(console, event)
    other = [e for e in store.events(job_id) if e.session_id is None]
    if other:
        console.print("\n[bold]pipeline[/]")
        for event in other:
            _print_event(console, event)
    for approval in store.approvals(job_id):
        why = f": {escape(approval.reason)}" if approval.reason else ""
        console.print(
            f"\n{approval.decision} by {escape(approval.by)} at {approval.at:%H:%M:%S}{why}"
        )


def _print_event(console: Console, event: Event) -> None:
    data = event.data
    head = f"  {event.at:%H:%M:%S} [cyan]{event.kind}[/]"
    render = _RENDERERS.get(event.kind, _render_other)
    console.print(head + " " + render(data))


def _render_model_call(data: dict[str, Any]) -> str:
    reply = data.get("reply") or {}
    usage = data.get("usage") or {}
    calls = ", ".join(c.get("name", "?") for c in reply.get("tool_calls", []))
    text = _clip(reply.get("text") or data.get("error") or "")
    tokens = f"{usage.get('input_tokens', 0)}+{usage.get('output_tokens', 0)} tokens"
    return (
        f"turn {data.get('turn')}: {tokens}"
        + (f" → {calls}" if calls else "")
        + (f"\n      {escape(text)}" if text else "")
    )


def _render_tool_call(data: dict[str, Any]) -> str:
    args = json.dumps(data.get("arguments"), default=str)
    result = data.get("result") or data.get("stderr") or data.get("stdout") or ""
    status = "[red]error[/]" if data.get("is_error") else "ok"
    exit_code = f" exit {data['exit_code']}" if "exit_code" in data else ""
    return f"{data.get('name')} {escape(_clip(args, 160))}: {status}{exit_code}" + (
        f"\n      {escape(_clip(str(result)))}" if result else ""
    )


def _render_gate(data: dict[str, Any]) -> str:
    verdict = "[green]passed[/]" if data.get("ok") else "[red]failed[/]"
    return f"{verdict}\n      " + escape(_clip(str(data.get("message", "")), 600)).replace(
        "\n", "\n      "
    )


def _render_other(data: dict[str, Any]) -> str:
    return escape(_clip(json.dumps(data, default=str), 300))


_RENDERERS: dict[str, Callable[[dict[str, Any]], str]] = {
    "model_call": _render_model_call,
    "tool_call": _render_tool_call,
    "gate": _render_gate,
    "ci": lambda data: _render_gate(
        {
            "ok": data.get("state") == "passed",
            "message": f"{data.get('state')}: {data.get('summary', '')}",
        }
    ),
}


def _clip(text: str, limit: int = 300) -> str:
    text = text.strip()
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _plain(record: Any) -> dict[str, Any]:
    import dataclasses

    data: dict[str, Any] = json.loads(json.dumps(dataclasses.asdict(record), default=str))
    return data


def stdout_console() -> Console:
    return Console(file=sys.stdout, soft_wrap=False)


# The commands' bodies: cli.py parses options and calls these, which return the exit code.

err = Console(stderr=True)


def runtime_from(
    store: str | None, work_dir: Path | None, cache_dir: Path | None, sandbox: Backend
) -> Runtime:
    return Runtime(
        store_url=store or default_store_url(),
        work_dir=work_dir or default_work_dir(),
        cache_dir=cache_dir,
        sandbox=sandbox,
    )


def run_command(
    spec_path: Path,
    runtime: Runtime,
    *,
    engine: str,
    verbose: bool,
    wait: bool,
    as_json: bool,
    engine_options: dict[str, Any] | None = None,
) -> int:
    try:
        spec = load_spec(spec_path)
        options = {**(engine_options or {}), **({"wait_for_approval": True} if wait else {})}
        chosen = make_engine(engine, **options)
    except ConfigError as exc:
        err.print(f"[red]invalid spec:[/] {escape(str(exc))}")
        return ExitCode.USAGE
    progress = CampaignProgress(err, verbose)
    try:
        with interruptible(f"`corral run {spec_path}` resumes it"), progress.shown():
            summary = run_campaign(
                spec, runtime, engine=chosen, on_change=progress.on_change, on_start=progress.start
            )
    except ConfigError as exc:
        err.print(f"[red]error:[/] {escape(str(exc))}")
        return ExitCode.USAGE
    return report(summary, as_json)


def report(summary: CampaignSummary, as_json: bool) -> int:
    if as_json:
        print(json.dumps(summary.to_json(), indent=2))
    else:
        out = stdout_console()
        out.print(outcome_table(summary))
        out.print(counts_line(summary))
        waiting = [
            line.job for line in summary.lines if line.job.state == JobState.AWAITING_APPROVAL
        ]
        for job in waiting:
            out.print(f"job {job.id} ({escape(job.name)}) waits: corral approve {job.id}")
    return int(summary.exit_code)


def status_command(store_url: str | None, campaign: str | None, as_json: bool) -> int:
    with _store(store_url) as store:
        if campaign is None:
            if as_json:
                print(json.dumps([_plain(c) for c in store.campaigns()], indent=2))
            else:
                stdout_console().print(campaigns_table(store))
            return ExitCode.OK
        return report(summarize(store, find_campaign(store, campaign)), as_json)


def retry_command(
    runtime: Runtime,
    campaign: str,
    *,
    engine: str,
    verbose: bool,
    as_json: bool,
    engine_options: dict[str, Any] | None = None,
) -> int:
    with _store(runtime.store_url) as store:
        record = find_campaign(store, campaign)
        retried = retry_failed(store, record)
        err.print(f"retrying {len(retried)} job(s) of {record.name}")
        progress = CampaignProgress(err, verbose)
        with interruptible(f"`corral retry {record.name} --failed` resumes it"), progress.shown():
            progress.start(context_for(record, runtime, store))
            summary = resume_campaign(
                store,
                record,
                runtime,
                engine=make_engine(engine, **(engine_options or {})),
                on_change=progress.on_change,
            )
        return report(summary, as_json)


def logs_command(store_url: str | None, job_id: int, as_json: bool) -> int:
    with _store(store_url) as store:
        if as_json:
            print(json.dumps(job_log(store, job_id), indent=2))
        else:
            print_job_log(stdout_console(), store, job_id)
    return ExitCode.OK


def decide_command(store_url: str | None, job_id: int, reason: str | None, by: str | None) -> int:
    with _store(store_url) as store:
        if reason is None:
            approve(store, job_id, by)
            print(f"job {job_id} approved: a waiting `corral run --wait` or the next run pushes it")
        else:
            reject(store, job_id, reason, by)
            print(f"job {job_id} rejected: it ends without a PR on the campaign's next run")
    return ExitCode.OK


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised in the main thread so that it stops a run the way Ctrl-C does."""


@contextmanager
def interruptible(resume_hint: str) -> Iterator[None]:
    """Ctrl-C or SIGTERM ends the process at once, saying how to go on.

    Nothing is lost: every step stores its job's state before the next one starts and is
    idempotent, so a step cut short runs again on resume. The commands still running die with
    the process (bubblewrap's --die-with-parent; the local runner's are killed here)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGTERM, _raise_terminated)
    try:
        yield
    except KeyboardInterrupt as exc:
        signum = signal.SIGTERM if isinstance(exc, Terminated) else signal.SIGINT
        kill_running()
        err.print(
            f"\n[yellow]stopped ({signum.name}):[/] the campaign is recorded as far as it went; "
            f"{escape(resume_hint)}",
            soft_wrap=True,  # a command to copy, not to break
        )
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(128 + signum)  # worker threads would finish their steps first: do not wait
    finally:
        signal.signal(signal.SIGTERM, previous)


def _raise_terminated(signum: int, frame: object) -> None:
    raise Terminated


@contextmanager
def _store(url: str | None) -> Iterator[Store]:
    store = Store.open(url or default_store_url())
    try:
        yield store
    finally:
        store.close()
