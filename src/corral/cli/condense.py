"""`corral condense`: a CI log condensed into the findings an agent would be given."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from corral.cli.app import JsonOpt, app, fail, run_body
from corral.cli.exit_codes import ExitCode


@app.command()
def condense(
    log: Annotated[str, typer.Argument(help="The CI log file, or - for standard input.")] = "-",
    as_json: JsonOpt = False,
    tool: Annotated[
        list[str] | None,
        typer.Option(
            "--tool",
            help="Only this tool's parser (repeatable): pytest, maven, go, cargo, npm, tsc, ...",
        ),
    ] = None,
    repo: Annotated[
        Path | None,
        typer.Option(help="A checkout of the repository, to resolve paths to its files."),
    ] = None,
) -> None:
    """Condense a CI log into file:line findings. Exit 0 when it names failures, 1 when it
    names none corral recognises (its error lines are printed instead), 2 on bad usage."""
    run_body(lambda: _condense(log, as_json, tool or [], repo))


def _condense(log: str, as_json: bool, tools: list[str], repo: Path | None) -> int:
    from corral.ci import condense as condense_log
    from corral.ci.infra import classify_infrastructure
    from corral.ci.paths import repository_files

    raw = _read(log)
    files = repository_files(repo) if repo is not None else None
    result = condense_log(raw, tools=tools, repo_files=files)
    infrastructure = classify_infrastructure(raw, result)
    if as_json:
        print(json.dumps({**result.to_json(), "infrastructure": infrastructure}, indent=2))
    else:
        for line in result.lines():
            print(line)
        if infrastructure:
            print(f"an infrastructure failure, not the code's: {infrastructure}")
    return ExitCode.FAILED if result.fallback or not result.findings else ExitCode.OK


def _read(log: str) -> str:
    if log == "-":
        return sys.stdin.read()
    path = Path(log)
    if not path.is_file():
        fail(f"{log}: no such file")
    try:
        return path.read_text(errors="replace")
    except OSError as exc:
        fail(f"{log}: cannot be read ({exc.strerror})")
