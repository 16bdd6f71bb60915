"""Running this very install's `corral` command as a user does, for tests and benches."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from corral.forge.repos import GIT_ENV

CORRAL = str(Path(sys.executable).with_name("corral"))
"""The console script of the interpreter running now (the venv's `corral`)."""


def corral_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """The environment of a corral process a test starts: git's identity, wide tables."""
    return {**os.environ, **GIT_ENV, "COLUMNS": "200", **(extra or {})}


def run_corral(
    *args: str | Path,
    cwd: Path | None = None,
    env: dict[str, str] | None = None,
    input: str | None = None,
    timeout: float = 600,
) -> subprocess.CompletedProcess[str]:
    """`corral ARGS...` with its output captured; `env` adds to (not replaces) corral_env()."""
    return subprocess.run(
        [CORRAL, *map(str, args)],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=corral_env(env),
        input=input,
        timeout=timeout,
        check=False,
    )
