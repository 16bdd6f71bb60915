"""Where untrusted commands run. See base.py for the interface, bwrap.py for the default."""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Literal, get_args

from corral.sandbox.base import (
    CommandResult,
    CommandRunner,
    Limits,
    NetworkPolicy,
    ToolMissingError,
)
from corral.sandbox.bwrap import BwrapRunner, SandboxUnavailableError
from corral.sandbox.local import LocalRunner

Backend = Literal["bwrap", "local"]
BACKENDS: tuple[Backend, ...] = get_args(Backend)
log = logging.getLogger(__name__)

LOCAL_WARNING = "sandbox 'local': commands run on the host with no isolation"
_local_warned = False
_warn_lock = threading.Lock()

__all__ = [
    "BACKENDS",
    "Backend",
    "BwrapRunner",
    "CommandResult",
    "CommandRunner",
    "Limits",
    "LocalRunner",
    "NetworkPolicy",
    "SandboxUnavailableError",
    "ToolMissingError",
    "default_cache_dir",
    "make_runner",
    "warn_local_once",
]


def default_cache_dir(name: str = "default") -> Path:
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "corral" / "caches" / name


def make_runner(backend: Backend, *, workspace: Path, cache_dir: Path) -> CommandRunner:
    """The runner for `backend`, confined to `workspace` with caches in `cache_dir`.

    Raises SandboxUnavailableError when bwrap cannot run here (the message says how to fix it).
    """
    cache_dir.mkdir(parents=True, exist_ok=True)
    if backend == "local":
        warn_local_once()
        return LocalRunner(cache_dir)
    if backend != "bwrap":
        raise ValueError(f"unknown sandbox backend {backend!r}: use bwrap or local")
    return BwrapRunner(workspace=workspace, cache_dir=cache_dir)


def warn_local_once(emit: Callable[[str], None] | None = None) -> None:
    """Say once per process (through `emit`, default: a logged warning) that the local
    sandbox does not isolate; a campaign makes a runner per command and need not repeat it."""
    global _local_warned
    with _warn_lock:
        if _local_warned:
            return
        _local_warned = True
    (emit or log.warning)(LOCAL_WARNING)
