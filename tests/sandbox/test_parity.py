"""Verifiers pass and fail in the sandbox exactly as they do without it, and caches stay warm."""

from __future__ import annotations

import importlib.util
import shutil
from collections.abc import Mapping, Sequence
from pathlib import Path

import pytest

from corral.config import VerifierSettings
from corral.sandbox import BwrapRunner, LocalRunner
from corral.sandbox.base import CommandResult, CommandRunner, Limits, NetworkPolicy
from corral.testing.repos import git, write_files
from corral.testing.samples import sample
from corral.verifiers import VerifyReport, verify
from corral.verifiers.registry import BUILTIN

pytestmark = pytest.mark.slow

VARIANTS = {
    "go": ("clean", "compile_error", "failing_test", "lint_violation"),
    # clean runs every tool (ruff, mypy, pytest); more variants would only retest parsers
    "python": ("clean", "failing_test"),
    # slow builds: one failing variant runs every tool and must report the same finding
    "node": ("failing_test",),
    "maven": ("failing_test",),
    "cargo": ("failing_test",),
}
ECOSYSTEMS = [
    eco for eco in VARIANTS if importlib.util.find_spec(f"corral.testing.samples.{eco}") is not None
]


def only(ecosystem: str) -> VerifierSettings:
    return VerifierSettings(disable=sorted(set(BUILTIN) - {ecosystem}))


def make_repo(root: Path, files: dict[str, str]) -> Path:
    root.mkdir(parents=True)
    git(root, "init", "-q", "-b", "main")
    write_files(root, files)
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "sample")
    return root


def replace_tree(repo: Path, files: dict[str, str]) -> None:
    """Make the working tree hold exactly `files` (plus .git)."""
    for entry in repo.iterdir():
        if entry.name != ".git":
            shutil.rmtree(entry) if entry.is_dir() else entry.unlink()
    write_files(repo, files)


Outcome = list[tuple[str, str, bool, list[tuple[str | None, int | None, str]]]]


def outcome(report: VerifyReport) -> Outcome:
    """What must not depend on where commands run: pass or fail, and each finding's place."""
    return [
        (
            r.name,
            r.project,
            r.ok,
            sorted(((f.file, f.line, f.kind.value) for f in r.findings), key=str),
        )
        for r in report.results
    ]


@pytest.mark.parametrize("ecosystem", ECOSYSTEMS)
def test_verify_gives_the_same_outcome_inside_and_outside(
    ecosystem: str, cache_dir: Path, tmp_path: Path
) -> None:
    samples = sample(ecosystem)
    # one checkout for every variant: verifiers key some caches (Python's venv) by path
    repo = make_repo(tmp_path / "repo", samples.clean())
    local = LocalRunner(cache_dir)
    sandboxed = BwrapRunner(repo, cache_dir, home_root=tmp_path / "homes")
    for variant in VARIANTS[ecosystem]:
        replace_tree(repo, getattr(samples, variant)())
        outside = verify(repo, local, only(ecosystem))
        inside = verify(repo, sandboxed, only(ecosystem))
        assert outcome(inside) == outcome(outside), variant
        assert inside.results and inside.ok is (variant == "clean"), inside.message


class NoNetwork:
    """A runner that refuses the network even to `prepare`: only warm caches let it pass."""

    def __init__(self, inner: BwrapRunner) -> None:
        self.inner = inner

    @property
    def cache_dir(self) -> Path:
        return self.inner.cache_dir

    def for_workspace(self, workspace: Path) -> CommandRunner:
        return NoNetwork(self.inner.for_workspace(workspace))

    def run(
        self,
        argv: Sequence[str],
        *,
        cwd: Path,
        env: Mapping[str, str] | None = None,
        network: NetworkPolicy = "none",
        limits: Limits | None = None,
        stdin: str | None = None,
    ) -> CommandResult:
        return self.inner.run(argv, cwd=cwd, env=env, network="none", limits=limits, stdin=stdin)


def test_dependencies_fetched_in_the_sandbox_serve_later_offline_runs(
    cache_dir: Path, tmp_path: Path
) -> None:
    """A cold module cache cannot verify offline; after a sandboxed prepare with network it can,
    in another checkout (a worktree) of the same repository: caches are per repository."""
    go = sample("go")
    cache = tmp_path / "cache"
    first = make_repo(tmp_path / "first", go.clean())
    second = tmp_path / "second"
    git(first, "worktree", "add", "-q", str(second))
    runner = BwrapRunner(first, cache, home_root=tmp_path / "homes")
    assert runner.for_workspace(second).cache_dir == runner.cache_dir
    if (cache_dir / "go" / "build").is_dir():  # compiled std packages only: saves a minute
        shutil.copytree(cache_dir / "go" / "build", runner.cache_dir / "go" / "build")

    cold = verify(second, NoNetwork(runner.for_workspace(second)), only("go"))
    assert not cold.ok, "an empty module cache verified without network"

    assert verify(first, runner, only("go")).ok

    warm = verify(second, NoNetwork(runner.for_workspace(second)), only("go"))
    assert warm.ok, warm.message
