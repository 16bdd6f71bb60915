"""The `corral` command line: every command's options, output and exit code.

Command bodies are thin: they call the library and render what it returns. Nothing outside
this package and `corral.web` prints or imports Typer or Rich. Importing this package is
cheap (the commands load when `main` runs), so the library may use `cli.exit_codes`.
"""

from __future__ import annotations


def main() -> None:
    import os

    # pydantic (which Typer parses options with) otherwise scans every installed package's
    # entry points for plugins on first use: ~50 ms of each command's start, for no plugin.
    os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")
    from corral.cli.app import run

    run()
