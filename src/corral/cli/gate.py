"""`corral gate`: the whole gate (verifiers, guard, judge) on the change since a base ref."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from corral.cli.app import (
    CacheOpt,
    JsonOpt,
    PathArg,
    SandboxOpt,
    app,
    backend,
    fail,
    run_body,
    spinner,
)
from corral.cli.exit_codes import ExitCode, passed

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
JUDGE_FLAGS = ("--judge-provider", "--judge-model")


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
    if not base:
        fail("--base REF is required")

    def body() -> int:
        from corral.config import ConfigError, read_prompt
        from corral.gate.gate import StagedGate
        from corral.gate.settings import gate_settings_from_options
        from corral.llm.settings import model_from_options
        from corral.sandbox import default_cache_dir, make_runner

        if not path.is_dir():
            raise ConfigError(f"{path} is not a folder")
        judge = model_from_options(judge_provider, judge_model, judge_base_url, flags=JUDGE_FLAGS)
        settings = gate_settings_from_options(
            settings_file,
            scope=scope,
            allow=allow,
            allow_changes_to=allow_changes_to,
            max_diff_lines=max_diff_lines,
            judge=judge,
        )
        prompt_text = read_prompt(prompt) if prompt is not None else None
        if settings.judge.mode == "required" and prompt_text is None:
            raise ConfigError("the judge needs the campaign prompt: give --prompt FILE")
        workspace = path.resolve()
        runner = make_runner(
            backend(sandbox), workspace=workspace, cache_dir=cache_dir or default_cache_dir()
        )
        with spinner(f"gating the change since {base}: verifiers (here and at {base}), guard"):
            result = StagedGate(
                workspace, base_ref=base, runner=runner, settings=settings, prompt=prompt_text
            ).check()
        print(json.dumps(result.to_verify_json(), indent=2) if as_json else result.message)
        return ExitCode.USAGE if result.nothing_to_verify else passed(result.ok)

    run_body(body)
