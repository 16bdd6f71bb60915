"""git for forges and the pipeline's checkouts (through `corral.git`, never prompting)."""

from __future__ import annotations

import shutil
from collections.abc import Mapping
from pathlib import Path

from corral.forge.base import Checkout, ForgeError
from corral.git.command import GitCommandError, git_text

WORK_BRANCH = "corral-work"
"""The local branch a checkout works on; the pushed branch name is the pipeline's."""


def git(
    *args: str,
    cwd: Path | None = None,
    timeout_s: float = 600.0,
    auth: Mapping[str, str] | None = None,
) -> str:
    """Run git through corral's hardened entry point; its stdout, stripped. Raises
    ForgeError with git's own message on failure. `auth` is config carrying a forge's
    credential, for network commands in a host-owned bare mirror only."""
    try:
        return git_text(args, repo=cwd, auth=auth, timeout_s=timeout_s).strip()
    except GitCommandError as exc:
        raise ForgeError(str(exc)) from exc


def force_option(branch: str, expect: str | None) -> str:
    """`--force`, or a force-with-lease on the remote branch being at `expect`."""
    return "--force" if expect is None else f"--force-with-lease=refs/heads/{branch}:{expect}"


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
