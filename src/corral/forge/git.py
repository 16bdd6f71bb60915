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


def clean_checkout(
    remote: str, dest: Path, base_branch: str | None = None, *, files: bool = True
) -> Checkout:
    """A clean checkout of the base branch in dest: cloned from remote, or an existing
    checkout fetched and reset. The base defaults to the remote's default branch.

    `files=False` (a look at the base's tip): an existing checkout is fetched and its
    HEAD, index and files are left as they are; every step that works on the files resets
    them first (`job_workspace`), so a checkout and clean here would only be undone."""
    fresh = not _fetched(dest)
    if fresh:
        shutil.rmtree(dest, ignore_errors=True)
        dest.parent.mkdir(parents=True, exist_ok=True)
        # no checkout yet: the one below writes the base's files once
        git("clone", "--no-tags", "--no-checkout", "--", remote, str(dest))
    base, sha = _remote_branch(dest, base_branch)
    if not (files or fresh):
        return Checkout(dest, base, sha)
    # --no-track: no upstream written to the config, which would be read again for the change
    git("checkout", "-q", "--force", "--no-track", "-B", WORK_BRANCH, f"origin/{base}", cwd=dest)
    if not fresh:  # a fresh clone has nothing untracked to clean
        git("clean", "-ffd", cwd=dest)
    return Checkout(dest, base, sha)


def _fetched(dest: Path) -> bool:
    """Whether dest is a checkout that could be fetched (else it is cloned afresh)."""
    if not (dest / ".git").is_dir():
        return False
    try:
        git("fetch", "--prune", "origin", cwd=dest)
    except ForgeError:
        if git_ok("rev-parse", "--git-dir", cwd=dest):
            raise  # a sound checkout the remote did not answer: kept for the next try
        return False  # not a repository any more, or a refused config
    return True


def _remote_branch(checkout: Path, base_branch: str | None) -> tuple[str, str]:
    """The base branch (the remote's default one when not given) and its sha, from one
    listing of the remote-tracking refs."""
    listing = git(
        "for-each-ref",
        "--format=%(refname)%00%(objectname)%00%(symref)",
        "refs/remotes/origin/",
        cwd=checkout,
    )
    refs = {}
    for line in listing.splitlines():
        name, sha, symref = line.split("\0")
        refs[name.removeprefix("refs/remotes/origin/")] = (sha, symref)
    base = base_branch
    if base is None:
        symref = refs.get("HEAD", ("", ""))[1]
        if not symref.startswith("refs/remotes/origin/"):
            raise ForgeError("the remote has no default branch (is it empty?)")
        base = symref.removeprefix("refs/remotes/origin/")
    if base not in refs or base == "HEAD":
        raise ForgeError(f"the remote has no branch {base!r}")
    return base, refs[base][0]
