"""Real git repositories made from a dict of files: for tests, benchmarks and the demo."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable
from pathlib import Path

MakeRepo = Callable[..., Path]

GIT_ENV = {
    "GIT_AUTHOR_NAME": "corral-tests",
    "GIT_AUTHOR_EMAIL": "tests@corral.invalid",
    "GIT_COMMITTER_NAME": "corral-tests",
    "GIT_COMMITTER_EMAIL": "tests@corral.invalid",
}


def git(repo: Path, *args: str) -> str:
    """Run git in repo with a fixed identity; raise on failure; return stdout."""
    return subprocess.run(
        ["git", "-C", str(repo), *args],
        check=True,
        capture_output=True,
        text=True,
        env={**os.environ, **GIT_ENV},
    ).stdout


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
