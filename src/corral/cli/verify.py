"""`corral verify`: every verifier that applies, on one folder."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from corral.cli.app import (
    CacheOpt,
    JsonOpt,
    PathArg,
    SandboxOpt,
    app,
    backend,
    fail,
    finish,
    run_body,
    spinner,
)
from corral.cli.exit_codes import ExitCode, passed

if TYPE_CHECKING:
    from corral.sandbox import Backend


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
    if not path.is_dir():
        fail(f"{path} is not a folder")
    run_body(lambda: _verify(path, as_json, baseline, backend(sandbox), cache_dir, no_prepare))


def _verify(
    path: Path,
    as_json: bool,
    baseline: str | None,
    sandbox: Backend,
    cache_dir: Path | None,
    no_prepare: bool,
) -> int:
    from corral.sandbox import default_cache_dir, make_runner
    from corral.verifiers import verify_path

    runner = make_runner(
        sandbox, workspace=path.resolve(), cache_dir=cache_dir or default_cache_dir()
    )
    with spinner("verifying") as status:
        report = verify_path(
            path, runner, baseline_ref=baseline, prepare=not no_prepare, on_progress=status
        )
    print(json.dumps(report.to_json(), indent=2) if as_json else report.message)
    if not report.results:
        finish(ExitCode.USAGE)
    return passed(report.ok)
