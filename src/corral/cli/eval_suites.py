"""`corral eval run|compare|schema|runs|fake-model`: task suites through the whole campaign loop.

Exit codes: `eval run` 0 when every task run is `right`, 1 when some is not, 2 on bad usage
(an invalid suite, a task the agent cannot take, no model); `eval compare` 0, or 2 when a
file is not an eval run's JSON.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from corral.cli.app import CacheOpt, JsonOpt, SandboxOpt, StoreOpt, backend, err, run_body
from corral.cli.evals import eval_app
from corral.cli.exit_codes import passed
from corral.cli.gate import JUDGE_FLAGS, JudgeBaseUrlOpt, JudgeModelOpt, JudgeProviderOpt

if TYPE_CHECKING:
    from corral.evals.results import Comparison, EvalRun, TaskResult
    from corral.evals.runner import OnTask
    from corral.evals.suite import TaskSpec

# By EvalOutcome's values: importing corral.evals (and its settings models) costs every
# command's start-up ~0.7 s.
_STYLE = {"right": "green", "wrong": "bold red", "ci_failed": "red", "no_pr": "yellow"}


@eval_app.command("run")
def eval_run(
    suite: Annotated[Path, typer.Argument(help="The suite's folder (or its suite.yaml).")],
    agent: Annotated[
        str, typer.Option("--agent", help="builtin, claude-code, or command (each task's command).")
    ] = "command",
    provider: Annotated[
        str | None, typer.Option("--provider", help="anthropic or openai (agents only).")
    ] = None,
    model: Annotated[str | None, typer.Option("--model", help="The agent's model name.")] = None,
    base_url: Annotated[
        str | None,
        typer.Option("--base-url", envvar="CORRAL_BASE_URL", help="Another model endpoint."),
    ] = None,
    judge_provider: JudgeProviderOpt = None,
    judge_model: JudgeModelOpt = None,
    judge_base_url: JudgeBaseUrlOpt = None,
    repeat: Annotated[int, typer.Option("--repeat", help="Runs of every task.")] = 1,
    task: Annotated[
        list[str] | None, typer.Option("--task", help="Only this task id (repeatable).")
    ] = None,
    as_json: JsonOpt = False,
    out: Annotated[
        Path | None,
        typer.Option("--out", help="Write results.json, report.md and plots to this folder."),
    ] = None,
    work_dir: Annotated[
        Path | None,
        typer.Option("--work-dir", help="Keep forges and checkouts here (default: removed)."),
    ] = None,
    sandbox: SandboxOpt = "bwrap",
    cache_dir: CacheOpt = None,
    store: StoreOpt = None,
) -> None:
    """Every task of SUITE through the campaign pipeline, then its hidden tests: one outcome
    per task run (right, wrong, ci_failed, no_pr with its reason). Exit 0 when all are right."""

    def body() -> int:
        from corral.evals.runner import EvalOptions, eval_agent, run_suite
        from corral.evals.store import save_run
        from corral.evals.suite import load_suite
        from corral.llm.settings import model_from_options

        options = EvalOptions(
            agent=eval_agent(agent),
            model=model_from_options(provider, model, base_url),
            judge=model_from_options(
                judge_provider, judge_model, judge_base_url, flags=JUDGE_FLAGS
            ),
            repeat=repeat,
            work_dir=work_dir.resolve() if work_dir else None,
            sandbox=backend(sandbox),
            cache_dir=cache_dir,
            tasks=tuple(task or ()),
        )
        loaded = load_suite(suite)
        run = run_suite(loaded, options, on_task=_progress(len(loaded.tasks) * repeat))
        stored = save_run(store, run)
        if out is not None:
            from corral.evals.report import write_report

            for path in write_report([run], out):
                err.print(f"wrote {escape(str(path))}")
        if as_json:
            print(json.dumps(run.to_json(), indent=2))
        else:
            _print_run(run)
        err.print(f"stored as eval run {stored}")
        return passed(all(t.outcome == "right" for t in run.tasks))

    run_body(body)


def _progress(total: int) -> OnTask:
    done = 0

    def on_task(task: TaskSpec, repeat: int, result: TaskResult | None) -> None:
        nonlocal done
        name = task.id
        if result is None:
            err.print(f"[dim]{done + 1}/{total}[/] {escape(name)} (run {repeat}) ...")
            return
        done += 1
        reason = f" ({result.reason})" if result.reason else ""
        style = _STYLE[result.outcome]
        err.print(
            f"[dim]{done}/{total}[/] {escape(name)}: [{style}]{result.outcome}{reason}[/] "
            f"in {result.wall_s:.0f}s"
        )

    return on_task


def _print_run(run: EvalRun) -> None:
    table = Table(title=f"{run.suite}: {run.label}")
    table.add_column("task", overflow="fold")
    table.add_column("run", justify="right")
    table.add_column("outcome")
    for column in ("turns", "tokens", "cost $", "wall s", "vetoes"):
        table.add_column(column, justify="right")
    for t in run.tasks:
        reason = f" ({t.reason})" if t.reason else ""
        vetoes = f"{t.vetoes + t.guard_vetoes}{'↺' if t.recovered else ''}"
        table.add_row(
            escape(t.id),
            str(t.repeat),
            f"[{_STYLE[t.outcome]}]{t.outcome}{reason}[/]",
            str(t.turns),
            str(t.tokens),
            f"{t.cost_usd:.4f}",
            f"{t.wall_s:.0f}",
            vetoes,
        )
    console = Console()
    console.print(table)
    for t in run.tasks:
        if t.outcome != "right":
            console.print(f"  {escape(t.id)} (run {t.repeat}): {escape(t.detail[:300])}")
    s = run.summary
    low, high = s["rate_right_ci95"]
    console.print(
        f"right {s['right']}, wrong {s['wrong']}, ci_failed {s['ci_failed']}, "
        f"no_pr {s['no_pr']} of {s['runs']}: right-rate {s['rate_right']:.0%} "
        f"(95% CI {low:.0%} to {high:.0%}), ${s['cost_usd']:.4f}, {s['wall_s']:.0f}s "
        "(vetoes: guard + judge; ↺ recovered after a veto)"
    )


@eval_app.command("compare")
def eval_compare(
    runs: Annotated[
        list[Path], typer.Argument(help="Eval runs' JSON files (the first is the base).")
    ],
    as_json: JsonOpt = False,
    out: Annotated[
        Path | None, typer.Option("--out", help="Write runs.json, report.md and plots here.")
    ] = None,
) -> None:
    """Configurations side by side: outcomes, right-rates with 95% intervals, differences
    from the first, and a note where the counts are too small to tell them apart."""

    def body() -> int:
        from corral.evals.results import Comparison, load_run

        loaded = [load_run(path) for path in runs]
        comparison = Comparison(loaded)
        if out is not None:
            from corral.evals.report import write_report

            for path in write_report(loaded, out):
                err.print(f"wrote {escape(str(path))}")
        if as_json:
            print(json.dumps(comparison.to_json(), indent=2))
        else:
            _print_comparison(comparison)
        return 0

    run_body(body)


def _print_comparison(comparison: Comparison) -> None:
    data = comparison.to_json()
    table = Table(title="eval runs compared (Δ against the first)")
    for column in ("configuration", "suite", "runs", "right", "wrong", "ci_failed", "no_pr"):
        table.add_column(column)
    table.add_column("right-rate (95% CI)")
    table.add_column("cost $")
    for row in data["runs"]:
        s, d = row["summary"], row["difference"]
        low, high = s["rate_right_ci95"]

        def cell(key: str, s: dict[str, int] = s, d: dict[str, float] = d) -> str:
            return f"{s[key]} ({d[key]:+d})" if d[key] else str(s[key])

        table.add_row(
            escape(row["label"]),
            escape(row["suite"]),
            str(s["runs"]),
            *(cell(o) for o in ("right", "wrong", "ci_failed", "no_pr")),
            f"{s['rate_right']:.0%} ({low:.0%} to {high:.0%}) {d['rate_right']:+.0%}",
            f"{s['cost_usd']:.4f}",
        )
    console = Console()
    console.print(table)
    for note in data["notes"]:
        console.print(f"[yellow]note:[/] {escape(note)}")


@eval_app.command("schema")
def eval_schema() -> None:
    """The JSON Schema of a task suite's suite.yaml."""
    from corral.evals.suite import suite_json_schema

    print(json.dumps(suite_json_schema(), indent=2))


@eval_app.command("runs")
def eval_runs(
    run_id: Annotated[int | None, typer.Argument(help="Show this stored run's JSON.")] = None,
    as_json: JsonOpt = False,
    store: StoreOpt = None,
) -> None:
    """Stored eval runs, newest first; or one run's JSON."""

    def body() -> int:
        from corral.evals.store import list_runs, load_stored_run

        if run_id is not None:
            print(json.dumps(load_stored_run(store, run_id).to_json(), indent=2))
            return 0
        stored = list_runs(store)
        if as_json:
            print(json.dumps([s.to_json() for s in stored], indent=2))
            return 0
        table = Table(title="eval runs")
        for column in ("id", "when", "suite", "configuration", "runs", "right", "rate"):
            table.add_column(column)
        for s in stored:
            table.add_row(
                str(s.id),
                s.created_at,
                escape(s.suite),
                escape(s.label),
                str(s.runs),
                str(s.right),
                f"{s.rate_right:.0%}",
            )
        Console().print(table)
        return 0

    run_body(body)


@eval_app.command("fake-model")
def eval_fake_model() -> None:
    """Serve corral's scripted agents and judges (a fake model endpoint, for offline evals)
    until interrupted. The model name picks the behaviour: right, disable-test, delete-test,
    weaken-assertion, out-of-scope, break-build, give-up, crash, loop, veto-recover; judges
    scope-judge and approve-judge. Prints the OpenAI and Anthropic base URLs."""
    import signal
    import threading

    from corral.testing.scripted_agents import scripted_server

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    with scripted_server() as server:
        print(f"openai: {server.openai_base_url}", flush=True)
        print(f"anthropic: {server.anthropic_base_url}", flush=True)
        try:
            stop.wait()
        except KeyboardInterrupt:
            err.print("stopped")
