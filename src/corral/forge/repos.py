"""Real git repositories made from a dict of files, and bare remotes holding them: the
demo's and the evals' sample repositories, and every test's."""

from __future__ import annotations

import tempfile
from pathlib import Path

from corral.git.command import git_text

GIT_ENV = {
    "GIT_AUTHOR_NAME": "corral-tests",
    "GIT_AUTHOR_EMAIL": "tests@corral.invalid",
    "GIT_COMMITTER_NAME": "corral-tests",
    "GIT_COMMITTER_EMAIL": "tests@corral.invalid",
}


def git(repo: Path, *args: str) -> str:
    """Run git in repo with a fixed identity; raise on failure; return stdout."""
    return git_text(args, repo=repo, env=GIT_ENV)


def write_files(root: Path, files: dict[str, str]) -> None:
    for rel, content in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content)


def init_repo(root: Path, files: dict[str, str], *, commit: bool = True) -> Path:
    """A new repository at root (branch main) holding files, committed unless commit=False."""
    root.mkdir(parents=True)
    git(root, "init", "-q", "-b", "main")
    write_files(root, files)
    if commit:
        git(root, "add", "-A")
        git(root, "commit", "-q", "-m", "initial")
    return root


def make_remote(forge: Path, name: str, files: dict[str, str]) -> Path:
    """A bare repository `forge/name.git` with `files` committed on main: a remote to clone."""
    remote = forge / f"{name}.git"
    remote.mkdir(parents=True, exist_ok=True)
    git(remote, "init", "-q", "--bare", "-b", "main")
    with tempfile.TemporaryDirectory(prefix="corral-seed-") as seed:
        tree = init_repo(Path(seed) / name, files)
        git(tree, "push", "-q", str(remote), "main")
    return remote
