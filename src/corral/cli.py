"""The `corral` command line. Thin: every command calls into the library."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from corral.config import ConfigError
from corral.gate.base import Gate
from corral.sandbox import (
    Backend,
    SandboxUnavailableError,
    default_cache_dir,
    make_runner,
    warn_local_once,
)

app = typer.Typer(
    no_args_is_help=True,
    add_completion=False,
    help="Coding agents that make one change across many repositories, each change verified "
    "(build, lint, tests, a tamper guard, a judge) before its pull request opens. "
    "Try `corral demo`.",
)
err = Console(stderr=True)

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2

PathArg = Annotated[Path, typer.Argument(help="Repository or project folder.")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON object.")]
SandboxOpt = Annotated[
    str, typer.Option("--sandbox", help="bwrap (isolated, default) or local (no isolation).")
]
CacheOpt = Annotated[
    Path | None,
    typer.Option("--cache-dir", help="Dependency caches (default: under ~/.cache/corral/caches)."),
]


@app.callback()
def _commands() -> None:
    """Keeps `corral <command>` a command group even while it has a single command."""


def _backend(name: str) -> Backend:
    if name not in ("bwrap", "local"):
        err.print(f"[red]error:[/] unknown sandbox {name!r}: use bwrap or local")
        raise typer.Exit(EXIT_USAGE)
    if name == "local":
        warn_local_once(lambda text: err.print(f"[yellow]warning:[/] {text}"))
    return name  # type: ignore[return-value]


@app.command()
def verify(
    path: PathArg = Path("."),
    as_json: JsonOpt = False,
    baseline: Annotated[
        str | None, typer.Option(help="Excuse failures already present at this git ref.")
    ] = None,
    sandbox: SandboxOpt = "bwrap",
    cache_dir: CacheOpt = None,
    no_prepare: Annotated[
        bool, typer.Option("--no-prepare", help="Skip installing dependencies.")
    ] = False,
) -> None:
    """Run every verifier that applies. Exit 0 pass, 1 fail, 2 nothing applies or bad usage."""
    from corral.verifiers import verify_path
    from corral.verifiers.baseline import GitError

    if not path.is_dir():
        err.print(f"[red]error:[/] {path} is not a folder")
        raise typer.Exit(EXIT_USAGE)
    try:
        runner = make_runner(
            _backend(sandbox), workspace=path.resolve(), cache_dir=cache_dir or default_cache_dir()
        )
    except SandboxUnavailableError as exc:
        err.print(f"[red]error:[/] {exc}")
        raise typer.Exit(EXIT_USAGE) from exc
    try:
        with _status("verifying") as status:
            report = verify_path(
                path,
                runner,
                baseline_ref=baseline,
                prepare=not no_prepare,
                on_progress=lambda text: status.update(text),
            )
    except (ConfigError, GitError, ValueError) as exc:
        err.print(f"[red]error:[/] {exc}")
        raise typer.Exit(EXIT_USAGE) from exc
    if as_json:
        print(json.dumps(report.to_json(), indent=2))
    else:
        print(report.message)
    if not report.results:
        raise typer.Exit(EXIT_USAGE)
    raise typer.Exit(EXIT_OK if report.ok else EXIT_FAILED)


def _status(text: str):  # type: ignore[no-untyped-def]
    return err.status(text) if sys.stderr.isatty() else _NullStatus()


class _NullStatus:
    def __enter__(self) -> _NullStatus:
        return self

    def __exit__(self, *exc: object) -> None:
        pass

    def update(self, text: str) -> None:
        pass


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
    from corral.agents.change import AgentChoice, change_command, model_settings
    from corral.gate.diff import DiffError
    from corral.llm.errors import ModelAuthError

    try:
        settings = model_settings(provider, model, base_url, stream=stream)
        choice = AgentChoice(agent, settings, command=command)
        backend = _backend(sandbox)
        with _status("the agent is working; then the gate checks its change"):
            code = change_command(
                path,
                prompt_file=prompt,
                agent=choice,
                backend=backend,
                cache_dir=cache_dir,
                transcript=transcript,
                as_json=as_json,
            )
    except (ConfigError, DiffError, ModelAuthError, SandboxUnavailableError, ValueError) as exc:
        err.print(f"[red]error:[/] {exc}")
        raise typer.Exit(EXIT_USAGE) from exc
    raise typer.Exit(code)


# Campaigns (bodies in corral.campaign_cli). Exit codes: 0 every repository has its PR or
# needed no change, 1 some ended without a PR or with CI failing, 2 bad usage or invalid
# spec, 3 nothing failed but jobs wait (approval) or are unfinished.

StoreOpt = Annotated[
    str | None,
    typer.Option(
        "--store",
        envvar="CORRAL_STORE",
        help="SQLite path or database URL (default: ~/.local/share/corral/corral.db).",
    ),
]
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
TemporalDecisionOpt = Annotated[
    bool,
    typer.Option(
        "--temporal", help="The campaign runs on Temporal: signal the job's workflow to go on now."
    ),
]


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
) -> None:
    """Run a campaign, or resume it: every repository goes as far as it can."""
    from corral import campaign_cli as c

    runtime = c.runtime_from(store, work_dir, cache_dir, _backend(sandbox))
    _campaign_exit(
        lambda: c.run_command(
            spec,
            runtime,
            engine=engine,
            verbose=verbose,
            wait=wait,
            as_json=as_json,
            engine_options=_engine_options(engine, temporal_address),
        )
    )


@app.command()
def status(
    campaign: Annotated[str | None, typer.Argument(help="Campaign name or id.")] = None,
    store: StoreOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Campaigns, or one campaign's outcomes per repository (exit code as for run)."""
    from corral import campaign_cli as c

    _campaign_exit(lambda: c.status_command(store, campaign, as_json))


@app.command()
def retry(
    campaign: Annotated[str, typer.Argument(help="Campaign name or id.")],
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
    from corral import campaign_cli as c

    if not failed:
        err.print("[red]error:[/] say what to retry: --failed")
        raise typer.Exit(EXIT_USAGE)
    runtime = c.runtime_from(store, work_dir, cache_dir, _backend(sandbox))
    _campaign_exit(
        lambda: c.retry_command(
            runtime,
            campaign,
            engine=engine,
            verbose=verbose,
            as_json=as_json,
            engine_options=_engine_options(engine, temporal_address),
        )
    )


@app.command()
def logs(
    job: Annotated[int, typer.Argument(help="Job id (see corral status).")],
    store: StoreOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """One job's record: transitions, agent sessions with every call, gate verdicts."""
    from corral import campaign_cli as c

    _campaign_exit(lambda: c.logs_command(store, job, as_json))


@app.command()
def approve(
    job: Annotated[int, typer.Argument(help="Job id awaiting approval.")],
    by: Annotated[str | None, typer.Option(help="Who approves (default: you).")] = None,
    store: StoreOpt = None,
    temporal: TemporalDecisionOpt = False,
    temporal_address: TemporalAddressOpt = None,
) -> None:
    """Approve a held job's diff: a waiting `corral run --wait`, or the campaign's next run,
    pushes it and opens the PR (on Temporal, --temporal tells its workflow at once)."""
    _campaign_exit(lambda: _decide(store, job, None, by, temporal, temporal_address))


@app.command()
def reject(
    job: Annotated[int, typer.Argument(help="Job id awaiting approval.")],
    reason: Annotated[str, typer.Option("--reason", help="Why, for the record.")],
    by: Annotated[str | None, typer.Option(help="Who rejects (default: you).")] = None,
    store: StoreOpt = None,
    temporal: TemporalDecisionOpt = False,
    temporal_address: TemporalAddressOpt = None,
) -> None:
    """Reject a held job's diff; it ends without a PR."""
    _campaign_exit(lambda: _decide(store, job, reason, by, temporal, temporal_address))


def _decide(
    store: str | None,
    job: int,
    reason: str | None,
    by: str | None,
    temporal: bool,
    temporal_address: str | None,
) -> int:
    from corral import campaign_cli as c

    code = c.decide_command(store, job, reason, by)
    if not (temporal or temporal_address):
        return code
    from corral.engine.temporal.client import tell_decided_command
    from corral.engine.temporal.settings import TemporalSettings
    from corral.store import default_store_url

    settings = TemporalSettings.from_env(temporal_address)
    return tell_decided_command(settings, store or default_store_url(), job)


def _engine_options(engine: str, temporal_address: str | None) -> dict[str, object]:
    """The chosen engine's settings from the options and configuration."""
    if engine != "temporal":
        if temporal_address:
            raise ConfigError("--temporal-address needs --engine temporal")
        return {}
    from corral.engine.temporal.settings import TemporalSettings

    return {"settings": TemporalSettings.from_env(temporal_address)}


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
    from corral import campaign_cli as c
    from corral.engine.temporal.settings import TemporalSettings
    from corral.engine.temporal.worker import worker_command

    runtime = c.runtime_from(store, work_dir, cache_dir, _backend(sandbox))
    _campaign_exit(
        lambda: worker_command(TemporalSettings.from_env(temporal_address), runtime, max_jobs)
    )


@app.command()
def schema() -> None:
    """Print the campaign spec's JSON Schema."""
    from corral.spec import spec_json_schema

    print(json.dumps(spec_json_schema(), indent=2))


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
    from corral import demo as d

    _campaign_exit(lambda: d.demo_command(directory, agent, store, sandbox))


@app.command()
def serve(
    host: Annotated[
        str, typer.Option("--host", help="Address to bind (other machines: 0.0.0.0).")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=1, max=65535)] = 8080,
    store: StoreOpt = None,
) -> None:
    """The web dashboard and its JSON API (/api); writes need CORRAL_DASHBOARD_TOKEN."""
    from corral.store import default_store_url
    from corral.web.app import serve as serve_dashboard

    def run_server() -> int:
        serve_dashboard(store or default_store_url(), host=host, port=port)
        return EXIT_OK

    _campaign_exit(run_server)


def _campaign_exit(command: Callable[[], int]) -> None:
    """Run a command body; what stops it before anything ran (a bad spec or option, a store
    or forge that cannot be reached) is one line and exit code 2."""
    from corral.forge import ForgeError
    from corral.store import StoreError

    try:
        code = command()
    except (ConfigError, ForgeError, StoreError) as exc:
        err.print(f"[red]error:[/] {exc}")
        raise typer.Exit(EXIT_USAGE) from exc
    raise typer.Exit(code)


# The gate (bodies in corral.gate.commands). Exit codes as for verify.

JudgeProviderOpt = Annotated[
    str | None,
    typer.Option(
        "--judge-provider",
        envvar="CORRAL_JUDGE_PROVIDER",
        help="anthropic or openai (no judge if unset).",
    ),
]
JudgeModelOpt = Annotated[
    str | None,
    typer.Option("--judge-model", envvar="CORRAL_JUDGE_MODEL", help="The judge's model name."),
]
JudgeBaseUrlOpt = Annotated[
    str | None,
    typer.Option(
        "--judge-base-url", envvar="CORRAL_JUDGE_BASE_URL", help="Another endpoint for the judge."
    ),
]


@app.command()
def gate(
    path: PathArg = Path("."),
    base: Annotated[
        str, typer.Option("--base", help="The git ref the change is judged against.")
    ] = "",
    prompt: Annotated[
        Path | None, typer.Option("--prompt", help="File with the prompt (needed by the judge).")
    ] = None,
    as_json: JsonOpt = False,
    sandbox: SandboxOpt = "bwrap",
    cache_dir: CacheOpt = None,
    settings_file: Annotated[
        Path | None,
        typer.Option("--settings", help="YAML gate settings (a campaign's gate: block)."),
    ] = None,
    scope: Annotated[
        list[str], typer.Option("--scope", help="Glob of files the change may touch (repeatable).")
    ] = [],  # noqa: B006 - typer reads the default, never mutates it
    allow: Annotated[
        list[str], typer.Option("--allow", help="Guard rule id to accept (repeatable).")
    ] = [],  # noqa: B006
    allow_changes_to: Annotated[
        list[str], typer.Option("--allow-changes-to", help="ci, build or lock (repeatable).")
    ] = [],  # noqa: B006
    max_diff_lines: Annotated[
        int | None, typer.Option("--max-diff-lines", help="Largest diff the guard accepts.")
    ] = None,
    judge_provider: JudgeProviderOpt = None,
    judge_model: JudgeModelOpt = None,
    judge_base_url: JudgeBaseUrlOpt = None,
) -> None:
    """The whole gate (verifiers, guard, judge when configured) on the change since --base."""
    from corral.gate import commands
    from corral.gate.diff import DiffError

    if not base:
        err.print("[red]error:[/] --base REF is required")
        raise typer.Exit(EXIT_USAGE)
    try:
        settings = commands.gate_settings(
            settings_file,
            scope=scope,
            allow=allow,
            allow_changes_to=allow_changes_to,
            max_diff_lines=max_diff_lines,
            judge=commands.judge_model_settings(judge_provider, judge_model, judge_base_url),
        )
        backend = _backend(sandbox)
        with _status(f"gating the change since {base}: verifiers (here and at {base}), guard"):
            code = commands.gate_command(
                path,
                base=base,
                prompt_file=prompt,
                settings=settings,
                backend=backend,
                cache_dir=cache_dir,
                as_json=as_json,
            )
    except (ConfigError, DiffError, SandboxUnavailableError, ValueError) as exc:
        err.print(f"[red]error:[/] {exc}")
        raise typer.Exit(EXIT_USAGE) from exc
    raise typer.Exit(code)


eval_app = typer.Typer(no_args_is_help=True, help="Measure corral's checks on labelled corpora.")
app.add_typer(eval_app, name="eval")


@eval_app.command("gate")
def eval_gate(
    corpus: Annotated[
        Path, typer.Argument(help="Folder of labelled cases (default: evals/gate).")
    ] = Path("evals/gate"),
    as_json: JsonOpt = False,
    judge_provider: JudgeProviderOpt = None,
    judge_model: JudgeModelOpt = None,
    judge_base_url: JudgeBaseUrlOpt = None,
) -> None:
    """The guard (and the judge, when a model is set) on every case: catches, misses, false
    vetoes. Exit 0 when every tampering case is caught with at most 5% false vetoes."""
    from corral.gate import commands

    try:
        judge = commands.judge_model_settings(judge_provider, judge_model, judge_base_url)
        with _status("evaluating") as status:
            code = commands.eval_gate_command(
                corpus, judge=judge, as_json=as_json, on_case=lambda name: status.update(name)
            )
    except (ConfigError, ValueError) as exc:
        err.print(f"[red]error:[/] {exc}")
        raise typer.Exit(EXIT_USAGE) from exc
    raise typer.Exit(code)


# Surfaces for third-party agents (bodies in corral.mcp and corral.hooks): the job's gate
# through --job FILE (written by the agent backend), or one built on a checkout with --base.

JobOpt = Annotated[
    Path | None,
    typer.Option("--job", envvar="CORRAL_JOB", help="The job file an agent backend wrote."),
]
BaseOpt = Annotated[
    str | None, typer.Option("--base", help="The git ref the change is judged against.")
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
        err.print(f"[red]error:[/] {exc}")
        raise typer.Exit(EXIT_USAGE) from exc
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
    from corral.agents.gate_link import JobFileError, open_gate
    from corral.gate.diff import DiffError

    try:
        return open_gate(
            job=job,
            workspace=workspace,
            base=base,
            sandbox=_backend(sandbox),
            cache_dir=cache_dir or default_cache_dir(),
            settings_file=settings_file,
        )
    except (JobFileError, ConfigError, DiffError, SandboxUnavailableError) as exc:
        err.print(f"[red]error:[/] {exc}")
        raise typer.Exit(EXIT_USAGE) from exc


def main() -> None:
    try:
        app()
    except SystemExit as exc:
        if "temporalio.bridge" in sys.modules:
            _exit_before_temporal_teardown(exc.code)
        raise


def _exit_before_temporal_teardown(code: object) -> None:
    """Exit without interpreter teardown once Temporal's client has run.

    Its Rust runtime's threads can outlive the interpreter's finalisation and abort the
    process ("PyGILState_Release: thread state must be current", temporalio/sdk-python#300),
    turning a finished command into exit 134.
    """
    if isinstance(code, str):
        print(code, file=sys.stderr)
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code if isinstance(code, int) else (0 if code is None else 1))
