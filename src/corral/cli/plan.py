"""`corral plan SPEC [--baseline] [--json]`: readiness per repository before any change.

Exit codes: 0 every repository is ready; 1 some cannot be done or fails its baseline
today; 2 bad usage or an invalid spec.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape
from rich.table import Table

from corral.cli.app import CacheOpt, JsonOpt, SandboxOpt, StoreOpt, app, backend, err, run_body
from corral.cli.campaign import WorkDirOpt, open_store, runtime_from
from corral.cli.exit_codes import ExitCode, passed

if TYPE_CHECKING:
    from corral.pipeline.plan import CampaignPlan

VERDICT_STYLE = {
    "ready": "green",
    "baseline_fails": "yellow",
    "unsupported": "red",
    "unreachable": "red",
    "not_targeted": "dim",
}


@app.command()
def plan(
    spec: Annotated[Path, typer.Argument(help="The campaign spec (YAML).")],
    baseline: Annotated[
        bool, typer.Option("--baseline", help="Also run each repository's checks today.")
    ] = False,
    store: StoreOpt = None,
    work_dir: WorkDirOpt = None,
    cache_dir: CacheOpt = None,
    sandbox: SandboxOpt = "bwrap",
    as_json: JsonOpt = False,
) -> None:
    """Before a campaign: per repository, the projects and verifiers that apply, whether it
    has tests (and, with --baseline, passes its checks today), what cannot be done, and an
    estimate of cost and duration. Nothing is changed or pushed."""

    def body() -> int:
        from corral.config import ConfigError
        from corral.pipeline.plan import plan_campaign
        from corral.spec import load_spec

        runtime = runtime_from(store, work_dir, cache_dir, backend(sandbox))
        try:
            loaded = load_spec(spec)
        except ConfigError as exc:
            err.print(f"[red]invalid spec:[/] {escape(str(exc))}")
            return ExitCode.USAGE
        with open_store(runtime.store_url) as opened:
            made = plan_campaign(loaded, runtime, baseline=baseline, store=opened)
        if as_json:
            print(json.dumps(made.to_json(), indent=2))
        else:
            _print(made)
        return passed(made.ready)

    run_body(body)


def _print(made: CampaignPlan) -> None:
    from corral.cli.render import stdout_console

    table = Table(title=f"plan: {made.campaign}", title_justify="left")
    for column in ("repository", "verdict", "projects", "tests", "baseline", "why"):
        table.add_column(column)
    for repo in made.repos:
        style = VERDICT_STYLE[repo.verdict]
        table.add_row(
            escape(repo.name),
            f"[{style}]{repo.verdict}[/]",
            ", ".join(f"{p.verifier} {p.path}" for p in repo.projects) or "-",
            {True: "yes", False: "none", None: "-"}[repo.has_tests],
            {True: "passes", False: "fails", None: "not run"}[repo.baseline_ok],
            escape(repo.reason or ""),
        )
    out = stdout_console()
    out.print(table)
    e = made.estimate
    cost = "no cap" if e.cost_usd_at_most is None else f"at most ${e.cost_usd_at_most:.2f}"
    if e.cost_usd_expected is not None and e.duration_s_expected is not None:
        cost += (
            f"; expected ${e.cost_usd_expected:.2f} and {e.duration_s_expected / 60:.0f} min "
            f"(from {e.earlier_jobs} earlier job(s) in the store)"
        )
    out.print(f"{e.jobs} of {len(made.repos)} repositories ready; cost {cost}")
