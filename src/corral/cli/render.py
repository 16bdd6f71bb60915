"""How campaign commands show things: live progress, outcome tables, a job's story, and
what Ctrl-C says."""

from __future__ import annotations

import json
import os
import signal
import sys
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, NoReturn

from rich.console import Console
from rich.live import Live
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from corral.cli.app import err
from corral.pipeline.summary import PR_NOTES, CampaignSummary, JobLine, pr_flag_counts, pr_notes
from corral.states import TERMINAL, JobState, Outcome
from corral.store import Store
from corral.store.records import Event, Job

if TYPE_CHECKING:
    from corral.pipeline.context import CampaignContext

_OUTCOME_STYLE = {
    Outcome.NO_PR: "red",
    Outcome.PR_FAILED_CI: "red",
    Outcome.PR_OPEN: "green",
    Outcome.MERGED: "bold green",
    Outcome.CLOSED: "yellow",
    Outcome.AWAITING_APPROVAL: "cyan",
    Outcome.IN_PROGRESS: "dim",
}
_FINE = frozenset({Outcome.PR_OPEN, Outcome.MERGED, Outcome.CLOSED})
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


TABLE_ROWS = 100
"""Repositories a campaign's table shows unless asked for all: thousands help no one."""


def outcome_table(summary: CampaignSummary, limit: int | None = TABLE_ROWS) -> Table:
    """The campaign's repositories, those that need a look (no PR, CI red, waiting) first
    when there are more than `limit`; the caption says how many are left out."""
    table = Table(title=f"campaign {summary.campaign.name}", title_justify="left")
    for column in ("job", "repository", "outcome", "state", "why / pull request"):
        table.add_column(column, overflow="fold")
    lines = summary.lines
    if limit is not None and len(lines) > limit:
        lines = sorted(lines, key=lambda line: line.outcome in _FINE)[:limit]
        table.caption = (
            f"{len(summary.lines) - limit} more: corral status {summary.campaign.name} --all, "
            "--json, or the dashboard"
        )
    for line in lines:
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
    line = ", ".join(f"{n} {outcome}" for outcome, n in counts.most_common())
    flags = pr_flag_counts(summary.lines)
    if flags:
        line += "; PRs: " + ", ".join(f"{n} {PR_NOTES[flag]}" for flag, n in flags.items())
    return line


def _why(line: JobLine) -> str:
    pr = line.pull_request
    if pr is None:
        return line.job.reason or ""
    notes = ([f"CI {pr.ci.state}"] if pr.ci.state != "none" else []) + pr_notes(line.job)
    ci = f" ({'; '.join(notes)})" if notes else ""
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


def stdout_console() -> Console:
    return Console(file=sys.stdout, soft_wrap=False)


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised in the main thread so that it stops a run the way Ctrl-C does."""


UNWIND_S = 5.0
"""How long an interrupted run may spend releasing its lease and closing the store: a store
lock held by a step still running (it may wait 60 s for it) must not keep the process."""


@contextmanager
def interruptible(resume_hint: str) -> Iterator[None]:
    """Ctrl-C or SIGTERM ends the process at once, saying how to go on.

    Nothing is lost: every step stores its job's state before the next one starts and is
    idempotent, so a step cut short runs again on resume. The commands still running die with
    the process (bubblewrap's --die-with-parent; the local runner's are killed here)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    # imported now, not once interrupted (the main thread may be stopped inside an import);
    # not at the module's import either: the tables `corral status` prints need no sandbox
    from corral.sandbox.local import kill_running

    def stop_now(signum: signal.Signals) -> NoReturn:
        kill_running()
        err.print(
            f"\n[yellow]stopped ({signum.name}):[/] the campaign is recorded as far as it "
            f"went; {escape(resume_hint)}",
            soft_wrap=True,  # a command to copy, not to break
        )
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(128 + signum)  # worker threads would finish their steps first: do not wait

    def interrupted(signum: int, frame: object) -> None:
        watchdog = threading.Timer(UNWIND_S, stop_now, (signal.Signals(signum),))
        watchdog.daemon = True
        watchdog.start()
        raise Terminated if signum == signal.SIGTERM else KeyboardInterrupt

    previous = {sig: signal.signal(sig, interrupted) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    except KeyboardInterrupt as exc:
        stop_now(signal.SIGTERM if isinstance(exc, Terminated) else signal.SIGINT)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
