"""Baselines: failures that were already there before the change are not the change's fault."""

from __future__ import annotations

import contextlib
import tempfile
from dataclasses import replace
from pathlib import Path

from corral.git.command import GitCommandError, run_git
from corral.verifiers.base import FindingKind, VerifierResult


def apply_baseline(
    results: list[VerifierResult], baseline: list[VerifierResult]
) -> list[VerifierResult]:
    """Mark findings also present at the baseline as pre-existing; only new ones fail.

    Findings match on verifier, file, kind, test id and message, never on line number.
    A verifier that could not run (`error`) is never excused by the baseline.
    """
    known = {
        f.baseline_key(r.name) for r in baseline for f in r.findings if f.kind != FindingKind.ERROR
    }
    marked = []
    for r in results:
        findings = [replace(f, new=f.baseline_key(r.name) not in known) for f in r.findings]
        marked.append(replace(r, findings=findings, ok=not any(f.new for f in findings)))
    return marked


class GitError(RuntimeError):
    pass


def checkout_ref(repo: Path, ref: str, into: Path) -> Path:
    """A detached worktree of `ref`, so a baseline never touches the working tree."""
    try:
        run_git(["worktree", "add", "--detach", "--force", str(into), ref], repo=repo)
    except GitCommandError as exc:
        raise GitError(f"cannot check out {ref!r} in {repo}: {exc}") from exc
    return into


def remove_worktree(repo: Path, worktree: Path) -> None:
    # The temporary folder goes anyway; `git worktree prune` forgets it later.
    with contextlib.suppress(GitCommandError):
        run_git(["worktree", "remove", "--force", str(worktree)], repo=repo, check=False)


class BaselineCheckout:
    """Context manager: a temporary worktree of `ref` in `repo`, removed afterwards."""

    def __init__(self, repo: Path, ref: str) -> None:
        self.repo = repo
        self.ref = ref
        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        self.path: Path | None = None

    def __enter__(self) -> Path:
        self._tmp = tempfile.TemporaryDirectory(prefix="corral-baseline-")
        self.path = checkout_ref(self.repo, self.ref, Path(self._tmp.name) / "tree")
        return self.path

    def __exit__(self, *exc: object) -> None:
        if self.path is not None:
            remove_worktree(self.repo, self.path)
        if self._tmp is not None:
            self._tmp.cleanup()
