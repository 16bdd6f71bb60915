"""Baselines: failures that were already there before the change are not the change's fault."""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import shutil
import tempfile
from dataclasses import replace
from pathlib import Path
from typing import IO

from corral.git.command import GitCommandError, GitConfigRefused, git_text
from corral.verifiers.base import FindingKind, VerifierResult, stage_gap_findings


def apply_baseline(
    results: list[VerifierResult], baseline: list[VerifierResult]
) -> list[VerifierResult]:
    """Mark findings also present at the baseline as pre-existing; only new ones fail.

    Findings match on verifier, file, kind, test id and message, never on line number.
    A verifier that could not run (`error`) is never excused by the baseline, and neither is
    a stage that did not run to the end at the change, whatever the base did: when every
    finding is excused, each such stage becomes a new `error` finding.
    """
    known = {
        f.baseline_key(r.name) for r in baseline for f in r.findings if f.kind != FindingKind.ERROR
    }
    at_base = {(r.name, r.project): r for r in baseline}
    marked = []
    for r in results:
        findings = [replace(f, new=f.baseline_key(r.name) not in known) for f in r.findings]
        r = replace(r, findings=findings)
        if not r.new_findings:
            base = at_base.get((r.name, r.project))
            gaps = set(r.incomplete_stages())
            both = bool(base is not None and gaps & set(base.incomplete_stages()))
            findings = [*findings, *stage_gap_findings(r, at_base_too=both)]
        marked.append(replace(r, findings=findings, ok=not any(f.new for f in findings)))
    return marked


class GitError(RuntimeError):
    pass


def baselines_dir(cache_dir: Path) -> Path:
    """Where baseline checkouts live: next to the cache, not in it, so a sandboxed command
    of the change (which sees the cache) cannot touch the base it is compared with."""
    return cache_dir.parent / f"{cache_dir.name}-baselines"


def _git(repo: Path | None, *args: str) -> str:
    """corral.git's hardened git (hooks, fsmonitor and program-running config refused)."""
    try:
        return git_text(list(args), repo=repo)
    except GitCommandError as exc:
        raise GitError(f"git {args[0]} failed in {repo}: {exc}") from exc


def resolve_commit(repo: Path, ref: str) -> str:
    try:
        return git_text(
            ["rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}"], repo=repo
        ).strip()
    except GitConfigRefused as exc:
        raise GitError(str(exc)) from exc  # the repository's config, not the ref, is the problem
    except GitCommandError as exc:
        raise GitError(f"cannot check out {ref!r} in {repo}: no such commit") from exc


def checkout_ref(repo: Path, ref: str, into: Path) -> Path:
    """A checkout of `ref` with git data of its own (a local clone), never touching `repo`.

    Not a worktree: a worktree's `.git` file points into the main repository's `.git`, which
    the sandbox does not mount, and setuptools-scm or hatch-vcs projects then cannot install.
    A local clone hard-links the objects where the filesystem allows, so it is cheap; its tags
    come along, so `git describe` works as in the main checkout.
    """
    commit = resolve_commit(repo, ref)
    if not _has_commit(into, commit):
        shutil.rmtree(into, ignore_errors=True)
        into.parent.mkdir(parents=True, exist_ok=True)
        _git(None, "clone", "--quiet", "--local", "--no-checkout", str(repo), str(into))
    _git(into, "checkout", "--quiet", "--force", "--detach", commit)
    # Untracked leftovers of an earlier base go; ignored build output (node_modules, target/)
    # stays, as a warm cache for the verifiers.
    _git(into, "clean", "-fdq")
    return into


def _has_commit(clone: Path, commit: str) -> bool:
    if not (clone / ".git").is_dir():
        return False
    with contextlib.suppress(GitError):
        _git(clone, "fetch", "--quiet", "--tags", "--force", "origin")
    try:
        _git(clone, "cat-file", "-e", f"{commit}^{{commit}}")
    except GitError:
        return False
    return True


class BaselineCheckout:
    """Context manager: a checkout of `ref` in `repo` for the verifiers.

    With `under` (a folder in the cache), the checkout has a stable path per repository and
    stays after use: what the verifiers built there (a Python venv, whose key holds the path;
    node_modules; target/) is reused by the next baseline instead of rebuilt. One baseline
    per repository at a time (a lock). Without it, a temporary checkout removed afterwards.
    """

    def __init__(self, repo: Path, ref: str, under: Path | None = None) -> None:
        self.repo = repo
        self.ref = ref
        self.under = under
        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        self._lock: IO[str] | None = None
        self.path: Path | None = None

    def __enter__(self) -> Path:
        if self.under is None:
            self._tmp = tempfile.TemporaryDirectory(prefix="corral-baseline-")
            into = Path(self._tmp.name) / "tree"
        else:
            key = hashlib.sha256(str(self.repo.resolve()).encode()).hexdigest()[:16]
            into = self.under / key / "tree"
            into.parent.mkdir(parents=True, exist_ok=True)
            self._lock = (into.parent / "lock").open("w")
            fcntl.flock(self._lock, fcntl.LOCK_EX)
        try:
            self.path = checkout_ref(self.repo, self.ref, into)
        except BaseException:
            self.__exit__()
            raise
        return self.path

    def __exit__(self, *exc: object) -> None:
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None
        if self._lock is not None:
            fcntl.flock(self._lock, fcntl.LOCK_UN)
            self._lock.close()
            self._lock = None
