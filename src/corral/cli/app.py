"""The Typer application, the options its commands share, and how a command ends."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, NoReturn

import typer

from corral.cli.exit_codes import ExitCode

if TYPE_CHECKING:
    from rich.console import Console

    from corral.sandbox import Backend

app = typer.Typer(
    no_args_is_help=True,
    add_completion=False,
    help="Coding agents that make one change across many repositories, each change verified "
    "(build, lint, tests, a tamper guard, a judge) before its pull request opens. "
    "Try `corral demo`.",
)


@cache
def stderr_console() -> Console:
    """The console on stderr, made on first use: Rich's console and markup are ~30 ms of
    import that a command printing nothing there (`corral verify DIR`) does not need."""
    from rich.console import Console

    return Console(stderr=True)


def __getattr__(name: str) -> Console:
    """`err`, the stderr console, for the command modules that import it by name."""
    if name == "err":
        return stderr_console()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


PathArg = Annotated[Path, typer.Argument(help="Repository or project folder.")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON object.")]
SandboxOpt = Annotated[
    str, typer.Option("--sandbox", help="bwrap (isolated, default) or local (no isolation).")
]
CacheOpt = Annotated[
    Path | None,
    typer.Option("--cache-dir", help="Dependency caches (default: under ~/.cache/corral/caches)."),
]
StoreOpt = Annotated[
    str | None,
    typer.Option(
        "--store",
        envvar="CORRAL_STORE",
        help="SQLite path or database URL (default: ~/.local/share/corral/corral.db).",
    ),
]


@app.callback()
def _commands() -> None:
    """Keeps `corral <command>` a command group even while it has a single command."""


def fail(message: str, code: ExitCode = ExitCode.USAGE) -> NoReturn:
    """End the command with one line on stderr."""
    from rich.markup import escape

    stderr_console().print(f"[red]error:[/] {escape(message)}")
    raise typer.Exit(code)


def finish(code: int) -> NoReturn:
    raise typer.Exit(code)


def backend(name: str) -> Backend:
    """The sandbox backend named by --sandbox (warning once when it isolates nothing)."""
    from rich.markup import escape

    from corral.sandbox import BACKENDS, warn_local_once

    if name not in BACKENDS:
        fail(f"unknown sandbox {name!r}: use {' or '.join(BACKENDS)}")
    if name == "local":
        warn_local_once(lambda text: stderr_console().print(f"[yellow]warning:[/] {escape(text)}"))
    return name


_USAGE_ERRORS = (
    ("corral.agents.gate_link", "JobFileError"),
    ("corral.config", "ConfigError"),
    ("corral.forge", "ForgeError"),
    ("corral.gate.diff", "DiffError"),
    ("corral.git", "GitCommandError"),
    ("corral.llm.errors", "ModelAuthError"),
    ("corral.sandbox", "SandboxUnavailableError"),
    ("corral.store", "StoreError"),
    ("corral.verifiers.baseline", "GitError"),
)


def usage_errors() -> tuple[type[Exception], ...]:
    """What stops a command before anything ran: bad input, a store or forge out of reach.

    Only the classes of modules already imported: an exception cannot be of a class never
    loaded, and importing them all (the store, SQLAlchemy, the forges) cost every command that
    ends in an exception, `typer.Exit` included, about a second.
    """
    loaded = (getattr(sys.modules.get(module), name, None) for module, name in _USAGE_ERRORS)
    return (*(c for c in loaded if isinstance(c, type) and issubclass(c, Exception)), ValueError)


def run_body(body: Callable[[], int]) -> NoReturn:
    """Run a command body and exit with its code; what stops it before anything ran is one
    line and exit code 2."""
    try:
        code = body()
    except usage_errors() as exc:
        fail(str(exc))
    finish(code)


@contextmanager
def spinner(text: str) -> Iterator[Callable[[str], None]]:
    """A spinner on a terminal while long work runs; yields a function to change its text."""
    if not sys.stderr.isatty():
        yield lambda _text: None
        return
    with stderr_console().status(text) as status:
        yield lambda new: status.update(new)


def run() -> None:
    from corral.cli.commands import load

    load(sys.argv[1] if len(sys.argv) > 1 else None)  # the command called, or all for help

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
