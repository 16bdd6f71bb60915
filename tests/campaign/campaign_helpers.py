"""Helpers for the campaign tests: remotes on a local forge, specs, and the real CLI."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

CORRAL = str(Path(sys.executable).parent / "corral")
GIT_ENV = {
    "GIT_AUTHOR_NAME": "corral-tests",
    "GIT_AUTHOR_EMAIL": "tests@corral.invalid",
    "GIT_COMMITTER_NAME": "corral-tests",
    "GIT_COMMITTER_EMAIL": "tests@corral.invalid",
}

NOTES_CONFIG = """\
verifiers:
  custom:
    - name: notes
      activate: NOTES.md
      command: ["sh", "-c", "grep -n TODO NOTES.md | sed 's/^/NOTES.md:/'; ! grep -q TODO NOTES.md"]
      pattern: '^(?P<file>[^:]+):(?P<line>\\d+):(?P<message>.*)$'
"""
"""A verifier that needs no toolchain: NOTES.md must hold no TODO."""


def notes_repo(text: str = "Release notes.\n") -> dict[str, str]:
    return {".corral.yaml": NOTES_CONFIG, "NOTES.md": text}


def git(*args: str, cwd: Path | None = None) -> str:
    return subprocess.run(
        ["git", *args],
        cwd=cwd,
        check=True,
        capture_output=True,
        text=True,
        env={**os.environ, **GIT_ENV},
    ).stdout.strip()


def make_remote(forge: Path, name: str, files: dict[str, str]) -> Path:
    """A bare repository `forge/name.git` with `files` committed on main."""
    remote = forge / f"{name}.git"
    git("init", "-q", "--bare", "-b", "main", str(remote))
    tree = Path(tempfile.mkdtemp(prefix="corral-seed-"))
    try:
        for rel, content in files.items():
            (tree / rel).parent.mkdir(parents=True, exist_ok=True)
            (tree / rel).write_text(content)
        git("init", "-q", "-b", "main", cwd=tree)
        git("add", "-A", cwd=tree)
        git("commit", "-q", "-m", "initial", cwd=tree)
        git("push", "-q", str(remote), "main", cwd=tree)
    finally:
        shutil.rmtree(tree)
    return remote


def write_spec(path: Path, **fields: Any) -> Path:
    """A spec file (JSON is YAML too)."""
    path.write_text(json.dumps(fields, indent=2))
    return path


def corral(*args: str, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [CORRAL, *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, **GIT_ENV, "COLUMNS": "200"},
    )


def runtime_args(store: str, work: Path, cache: Path) -> list[str]:
    return [
        "--store",
        store,
        "--work-dir",
        str(work),
        "--cache-dir",
        str(cache),
        "--sandbox",
        "local",
    ]


def remote_branches(remote: Path) -> list[str]:
    return git("for-each-ref", "--format=%(refname:short)", "refs/heads", cwd=remote).splitlines()
