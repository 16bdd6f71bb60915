"""Running git on the host, for forges and the pipeline's checkouts: never prompts."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Mapping
from pathlib import Path

from corral.forge.base import Checkout, ForgeError

_ENV = {
    "GIT_TERMINAL_PROMPT": "0",
    "GIT_ASKPASS": "true",
    "GIT_CONFIG_NOSYSTEM": "1",
    "LC_ALL": "C",
}


WORK_BRANCH = "corral-work"
"""The local branch a checkout works on; the pushed branch name is the pipeline's."""


def git(
    *args: str,
    cwd: Path | None = None,
    timeout_s: float = 600.0,
    env: Mapping[str, str] | None = None,
) -> str:
    """Run git; its stdout, stripped. Raises ForgeError with git's own message on failure.
    `env` adds variables for this one git process (e.g. a forge's auth header)."""
    try:
        done = subprocess.run(
            ["git", *args],
            cwd=cwd,
            capture_output=True,
            text=True,
            env={**os.environ, **_ENV, **(env or {})},
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


def clean_checkout(remote: str, dest: Path, base_branch: str | None = None) -> Checkout:
    """A clean checkout of the base branch in dest: cloned from remote, or an existing
    checkout fetched and reset. The base defaults to the remote's default branch."""
    if (dest / ".git").is_dir() and git_ok("rev-parse", "--git-dir", cwd=dest):
        git("fetch", "--prune", "origin", cwd=dest)
    else:
        shutil.rmtree(dest, ignore_errors=True)
        dest.parent.mkdir(parents=True, exist_ok=True)
        git("clone", "--no-tags", "--", remote, str(dest))
    base = base_branch or _default_branch(dest)
    git("checkout", "--force", "-B", WORK_BRANCH, f"origin/{base}", cwd=dest)
    git("clean", "-ffd", cwd=dest)
    return Checkout(dest, base, git("rev-parse", "HEAD", cwd=dest))


def _default_branch(checkout: Path) -> str:
    try:
        ref = git("symbolic-ref", "--short", "refs/remotes/origin/HEAD", cwd=checkout)
    except ForgeError as exc:
        raise ForgeError("the remote has no default branch (is it empty?)") from exc
    return ref.removeprefix("origin/")
