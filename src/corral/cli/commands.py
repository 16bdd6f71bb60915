"""Which module registers each command on `app`, so that a call loads only its command's.

`corral verify ...` imports `cli/verify.py` alone: Typer builds (and coerces the options of)
every command registered, and the others' imports and builds were a fifth of its start-up.
`corral --help`, no command, or a name not listed here loads them all (in the order
`corral --help` lists them), so the help, the usage errors and their suggestions stay those
of the whole app. tests/cli/test_startup.py checks this table against what the modules
register.
"""

from __future__ import annotations

import importlib

MODULES = (
    "verify",
    "change",
    "gate",
    "campaign",
    "control",
    "plan",
    "demo",
    "serve",
    "evals",
    "integrations",
    "condense",
    "eval_suites",
)
"""Every command module, in `corral --help` order."""

_CAMPAIGN = ("campaign",)
COMMANDS: dict[str, tuple[str, ...]] = {
    "verify": ("verify",),
    "change": ("change",),
    "gate": ("gate",),
    **dict.fromkeys(
        ("run", "status", "retry", "logs", "approve", "reject", "worker", "schema"), _CAMPAIGN
    ),
    **dict.fromkeys(("pause", "resume", "cancel"), ("control",)),
    "plan": ("plan",),
    "demo": ("demo",),
    "serve": ("serve",),
    "eval": ("evals", "eval_suites"),
    "mcp": ("integrations",),
    "hook": ("integrations",),
    "condense": ("condense",),
}
"""Top-level command or group name -> the modules that register it and its subcommands."""


def load(command: str | None = None) -> None:
    """Register `command` (its modules only), or every command when it is None or unknown."""
    for module in COMMANDS.get(command or "", MODULES):
        importlib.import_module(f"corral.cli.{module}")
