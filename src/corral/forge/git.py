"""Running git on the host, for forges and the pipeline's checkouts: never prompts."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from corral.forge.base import ForgeError

_ENV = {
    "GIT_TERMINAL_PROMPT": "0",
    "GIT_ASKPASS": "true",
    "GIT_CONFIG_NOSYSTEM": "1",
    "LC_ALL": "C",
}


def git(*args: str, cwd: Path | None = None, timeout_s: float = 600.0) -> str:
    """Run git; its stdout, stripped. Raises ForgeError with git's own message on failure."""
    try:
        done = subprocess.run(
            ["git", *args],
            cwd=cwd,
            capture_output=True,
            text=True,
            env={**os.environ, **_ENV},
            timeout=timeout_s,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise ForgeError(f"git {args[0]} timed out after {timeout_s:.0f}s") from exc
    if done.returncode != 0:
        message = (done.stderr.strip() or done.stdout.strip()).splitlines()
        raise ForgeError(f"git {args[0]} failed: {' '.join(message[-3:])}")
    return done.stdout.strip()


def git_ok(*args: str, cwd: Path | None = None) -> bool:
    """Whether a git query command succeeds (e.g. `merge-base --is-ancestor`)."""
    try:
        git(*args, cwd=cwd)
    except ForgeError:
        return False
    return True
