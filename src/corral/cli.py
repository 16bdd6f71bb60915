"""The `corral` command line. Thin: every command calls into the library."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from corral.config import ConfigError
from corral.sandbox import Backend, SandboxUnavailableError, default_cache_dir, make_runner

app = typer.Typer(no_args_is_help=True, add_completion=False, help=__doc__)
err = Console(stderr=True)

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2

PathArg = Annotated[Path, typer.Argument(help="Repository or project folder.")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON object.")]
SandboxOpt = Annotated[
    str, typer.Option("--sandbox", help="bwrap (isolated, default) or local (no isolation).")
]
CacheOpt = Annotated[
    Path | None, typer.Option("--cache-dir", help="Dependency caches (default: ~/.cache/corral).")
]


@app.callback()
def _commands() -> None:
    """Keeps `corral <command>` a command group even while it has a single command."""


def _backend(name: str) -> Backend:
    if name not in ("bwrap", "local"):
        err.print(f"[red]error:[/] unknown sandbox {name!r}: use bwrap or local")
        raise typer.Exit(EXIT_USAGE)
    if name == "local":
        err.print(
            "[yellow]warning:[/] the local sandbox runs the repository's code with no isolation"
        )
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
    except (ConfigError, ValueError) as exc:
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


def main() -> None:
    app()
