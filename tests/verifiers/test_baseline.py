"""Baseline checkouts: whole (their own git data), reused, and never touching the repository."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from corral.testing.repos import MakeRepo, git
from corral.verifiers.baseline import BaselineCheckout, GitError


def _tagged_repo(make_repo: MakeRepo) -> Path:
    repo = make_repo({"a.txt": "one\n"})
    git(repo, "tag", "v1.0.0")
    (repo / "a.txt").write_text("two\n")
    git(repo, "commit", "-qam", "two")
    return repo


def test_the_checkout_carries_its_git_data_and_tags(make_repo: MakeRepo, tmp_path: Path) -> None:
    """setuptools-scm and hatch-vcs run `git describe` in the checkout, inside a sandbox that
    mounts only the checkout: a worktree's `.git` file pointing elsewhere broke them."""
    repo = _tagged_repo(make_repo)
    with BaselineCheckout(repo, "HEAD", tmp_path / "baselines") as tree:
        assert (tree / ".git").is_dir()
        hidden = repo.rename(tmp_path / "hidden")  # as the sandbox sees it: no repository
        describe = subprocess.run(
            ["git", "-C", str(tree), "describe", "--tags"], capture_output=True, text=True
        )
        hidden.rename(repo)
        assert describe.returncode == 0, describe.stderr
        assert describe.stdout.startswith("v1.0.0-1-g")
        assert (tree / "a.txt").read_text() == "two\n"
    assert git(repo, "worktree", "list").count("\n") == 1  # the repository is untouched


def test_the_next_baseline_reuses_the_checkout_and_its_ignored_caches(
    make_repo: MakeRepo, tmp_path: Path
) -> None:
    repo = _tagged_repo(make_repo)
    (repo / ".gitignore").write_text("node_modules/\n")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "ignore")
    under = tmp_path / "baselines"
    with BaselineCheckout(repo, "HEAD~1", under) as first:
        (first / "node_modules").mkdir()
        (first / "stray.txt").write_text("left by a verifier\n")
    with BaselineCheckout(repo, "main", under) as second:
        assert second == first
        assert (second / "node_modules").is_dir()  # the warm install stays
        assert not (second / "stray.txt").exists()  # untracked leftovers go
        assert (second / ".gitignore").is_file()


def test_an_unknown_ref_is_a_one_line_error(make_repo: MakeRepo, tmp_path: Path) -> None:
    repo = make_repo({"a.txt": "one\n"})
    checkout = BaselineCheckout(repo, "nope", tmp_path / "baselines")
    with pytest.raises(GitError, match="cannot check out 'nope'"), checkout:
        pass


def test_a_hook_planted_in_the_kept_checkout_never_runs_on_the_host(
    make_repo: MakeRepo, tmp_path: Path
) -> None:
    """The base's own checks run with its checkout writable: a hook they leave in its `.git`
    must not run when the next baseline checks it out outside the sandbox."""
    repo = _tagged_repo(make_repo)
    under = tmp_path / "baselines"
    marker = tmp_path / "hook-ran"
    with BaselineCheckout(repo, "HEAD~1", under) as tree:
        hook = tree / ".git" / "hooks" / "post-checkout"
        hook.write_text(f"#!/bin/sh\ntouch {marker}\n")
        hook.chmod(0o755)
    with BaselineCheckout(repo, "HEAD", under):
        pass
    assert not marker.exists()


def test_a_stored_baseline_keeps_its_stages_sources_and_notes() -> None:
    from corral.store.serialize import result_from_json, result_to_json
    from corral.verifiers.base import StageReport, StageStatus, VerifierResult

    result = VerifierResult(
        name="python",
        project=".",
        ok=False,
        duration_s=1.5,
        stages={"test": StageReport(StageStatus.STOPPED, "pytest could not collect x.py")},
        sources={"ruff": ".github/workflows/ci.yml: lint"},
        notes=["ruff 0.1.0 is pinned and could not be installed"],
    )
    again = result_from_json(result_to_json(result))
    assert again.stages == result.stages
    assert again.sources == result.sources
    assert again.notes == result.notes
