"""The working tree as the change: the one definition of build output, and the one tree
that is both gated and committed.

A change is what the working tree holds: tracked files as they are now, plus untracked
files unless git ignores them or they are build output a toolchain left behind
(node_modules/, target/, __pycache__/...), so a repository without a `.gitignore` does not
push its build folder. Tracked files below those folders still count. The gate diffs this
tree against the base and the pipeline commits this very tree, never a fresh `git add -A`.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path

from corral.git.build_output import (
    BUILD_OUTPUT_DIRS,
    BUILD_OUTPUT_FILES,
    BUILD_OUTPUT_GLOBS,
    is_build_output,
)
from corral.git.command import git_dir_of, git_text, run_git_sequence

__all__ = [
    "BUILD_OUTPUT_DIRS",
    "BUILD_OUTPUT_FILES",
    "BUILD_OUTPUT_GLOBS",
    "commit_tree",
    "has_change",
    "head_tree",
    "is_build_output",
    "working_tree",
]


def working_tree(repo: Path) -> str:
    """The sha of the tree the working tree holds as the change (see the module's doc),
    written in a scratch index so the checkout's own index is left alone."""
    index = _index_file(repo)
    with tempfile.TemporaryDirectory(prefix="corral-tree-") as tmp:
        scratch = Path(tmp) / "index"
        if index.is_file():
            # Keeps git's stat cache, so only changed files are rehashed. copy2 keeps the
            # index's mtime too: git's racy-clean check compares entries against it, and a
            # fresh mtime would let a same-size edit made in the same second go unseen.
            shutil.copy2(index, scratch)
        env = {"GIT_INDEX_FILE": str(scratch)}
        # one check of the repository for the commands: nothing else runs in it meanwhile
        done = run_git_sequence(_tree_commands, repo=repo, env=env)
        return done[-1].stdout.decode().strip()


def _tree_commands(tracked: Sequence[str]) -> list[list[str]]:
    """Untracked files that are not build output, tracked ones wherever they are, then the
    tree. `add -u` is for tracked files the first add's excludes pass over: without one
    (most repositories track nothing below a build folder) it would change nothing."""
    excludes = [f":(exclude,glob){glob}" for glob in BUILD_OUTPUT_GLOBS]
    commands = [["add", "-A", "--", ".", *excludes]]
    # lower-cased: wider than the excludes' match whichever way git compares case
    if any(is_build_output(path.lower()) for path in tracked):
        commands.append(["add", "-u", "--", "."])
    return [*commands, ["write-tree"]]


def _index_file(repo: Path) -> Path:
    git_dir = git_dir_of(repo)
    if git_dir is not None:
        return git_dir / "index"
    path = git_text(["rev-parse", "--path-format=absolute", "--git-path", "index"], repo=repo)
    return Path(path.strip())


def head_tree(repo: Path, ref: str = "HEAD") -> str:
    return git_text(["rev-parse", f"{ref}^{{tree}}"], repo=repo).strip()


def has_change(repo: Path, base: str = "HEAD") -> bool:
    """Whether the working tree, as working_tree sees it, differs from `base`."""
    return working_tree(repo) != head_tree(repo, base)


def commit_tree(
    repo: Path,
    tree: str,
    message: str,
    identity: Mapping[str, str],
    parent: str | None = None,
) -> str:
    """Commit exactly `tree` on top of HEAD (`parent`, when the caller has just read it) and
    move the branch to it; the new sha. `identity` holds GIT_AUTHOR_*/GIT_COMMITTER_*
    variables. The index is reset to the commit, the working tree is left as it is (build
    output stays, untracked). The branch only moves from `parent`: HEAD moved meanwhile,
    nothing is changed."""
    parent = parent or git_text(["rev-parse", "HEAD"], repo=repo).strip()
    sha = git_text(
        ["commit-tree", tree, "-p", parent, "-m", message], repo=repo, env=identity
    ).strip()
    run_git_sequence(
        [["update-ref", "-m", "corral: commit", "HEAD", sha, parent], ["reset", "-q"]], repo=repo
    )
    return sha
