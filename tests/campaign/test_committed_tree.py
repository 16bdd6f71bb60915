"""The committed tree is the gated tree: build output never reaches a pull request, even in a
repository with no `.gitignore` (issue 14)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from campaign_helpers import corral, runtime_args, write_spec

from corral.git.worktree import commit_tree, has_change, is_build_output, working_tree
from corral.testing.repos import GIT_ENV, git, init_repo, make_remote
from corral.testing.samples import sample

EDIT = (
    "if [ -f src/lib.rs ]; then sed -i 's/The total of/The sum of/' src/lib.rs; "
    "else printf '\\n\\nEND = 0\\n' >> src/calc/__init__.py; fi; "
    "mkdir -p target/debug src/__pycache__ && echo out > target/debug/app && "
    "echo out > src/__pycache__/calc.cpython-311.pyc"
)
"""The change: one line of one source file in each sample, and build output beside it (the
verifiers keep theirs outside the checkout now; a change command's own may still land here)."""


def test_build_output_is_not_part_of_the_change(tmp_path: Path) -> None:
    repo = init_repo(tmp_path / "repo", {"src/app.py": "x = 1\n", "build/keep.txt": "tracked\n"})
    base = working_tree(repo)
    for output in (
        "target/debug/app",
        "src/__pycache__/app.cpython-311.pyc",
        "a.egg-info/PKG-INFO",
    ):
        (repo / output).parent.mkdir(parents=True, exist_ok=True)
        (repo / output).write_text("output\n")
    assert not has_change(repo)
    assert working_tree(repo) == base

    (repo / "build" / "keep.txt").write_text("tracked files below build/ still count\n")
    (repo / "src" / "new.py").write_text("y = 2\n")
    tree = working_tree(repo)
    sha = commit_tree(repo, tree, "change", GIT_ENV)
    changed = git(repo, "diff", "--name-only", f"{sha}~1", sha).split()
    assert changed == ["build/keep.txt", "src/new.py"]
    assert git(repo, "rev-parse", "HEAD").strip() == sha
    assert git(repo, "status", "--porcelain", "--untracked-files=no").strip() == ""


def test_one_definition_of_build_output() -> None:
    assert is_build_output("crates/a/target/debug/a")
    assert is_build_output("pkg/__pycache__/m.cpython-311.pyc")
    assert is_build_output("calc.egg-info/PKG-INFO")
    assert not is_build_output("src/target.rs")
    assert not is_build_output("docs/build.md")


@pytest.mark.slow
def test_a_campaign_commits_exactly_the_files_it_changed(
    new_store: Callable[[], str], tmp_path: Path, cache_dir: Path
) -> None:
    forge = tmp_path / "forge"
    for name in ("cargo", "python"):
        files = {k: v for k, v in sample(name).clean().items() if k != ".gitignore"}
        make_remote(forge, name, files)
    spec = write_spec(
        tmp_path / "spec.yaml",
        name="no-gitignore",
        command=EDIT,
        targets={"repos": [str(p) for p in sorted(forge.iterdir())]},
        gate={"guard": {"scope": ["src/**"]}},
    )
    store = new_store()
    done = corral("run", str(spec), "--json", *runtime_args(store, tmp_path / "work", cache_dir))
    assert done.returncode == 0, done.stdout + done.stderr
    assert {job["state"] for job in json.loads(done.stdout)["jobs"]} == {"pr_open"}
    changed = {
        name: git(
            forge / f"{name}.git", "diff", "--name-only", "main", "corral/no-gitignore"
        ).split()
        for name in ("cargo", "python")
    }
    assert changed == {"cargo": ["src/lib.rs"], "python": ["src/calc/__init__.py"]}
    # the build output was there when the change was gated: the command that wrote it ends in
    # `&&`, and a failing change command would have failed the job (not pr_open)
