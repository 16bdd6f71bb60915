"""Where untrusted commands run. See base.py for the interface, bwrap.py for the default."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

from corral.sandbox.base import (
    CommandResult,
    CommandRunner,
    Limits,
    NetworkPolicy,
    ToolMissingError,
)

Backend = Literal["bwrap", "local"]

__all__ = [
    "Backend",
    "CommandResult",
    "CommandRunner",
    "Limits",
    "NetworkPolicy",
    "ToolMissingError",
    "default_cache_dir",
    "make_runner",
]


def default_cache_dir(name: str = "default") -> Path:
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "corral" / "caches" / name


def make_runner(backend: Backend, *, workspace: Path, cache_dir: Path) -> CommandRunner:
    """The runner for `backend`, confined to `workspace` with caches in `cache_dir`."""
    cache_dir.mkdir(parents=True, exist_ok=True)
    if backend == "local":
        from corral.sandbox.local import LocalRunner

        return LocalRunner(cache_dir)
    from corral.sandbox.bwrap import BwrapRunner

    return BwrapRunner(workspace=workspace, cache_dir=cache_dir)
