"""Helpers for the command-line tests: the real `corral` process, repositories that need no
toolchain (a custom verifier), bare remotes on the local forge."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from corral.testing.repos import GIT_ENV, init_repo

CORRAL = str(Path(sys.executable).with_name("corral"))
NOTES_CONFIG = """\
verifiers:
  custom:
    - name: notes
      activate: NOTES.md
      command: ["sh", "-c", "! grep -n TODO NOTES.md"]
      pattern: '^(?P<line>\\d+):(?P<message>.*)$(?P<file>)'
"""
"""A verifier that needs no toolchain: NOTES.md must hold no TODO."""


def notes_files(text: str = "Notes.\n") -> dict[str, str]:
    return {".corral.yaml": NOTES_CONFIG, "NOTES.md": text}


def corral(
    *args: str, env: dict[str, str] | None = None, timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [CORRAL, *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, **GIT_ENV, "COLUMNS": "200", **(env or {})},
    )


def bare_remote(forge: Path, name: str, files: dict[str, str]) -> Path:
    """forge/name.git: a bare repository whose main branch holds `files`."""
    tree = init_repo(forge / "seeds" / name, files)
    remote = forge / f"{name}.git"
    subprocess.run(
        ["git", "clone", "-q", "--bare", str(tree), str(remote)], check=True, capture_output=True
    )
    return remote


def write_spec(path: Path, **fields: Any) -> Path:
    """A campaign spec file (JSON is YAML too)."""
    path.write_text(json.dumps(fields, indent=2))
    return path


def runtime_args(tmp: Path) -> list[str]:
    return [
        "--store",
        str(tmp / "corral.db"),
        "--work-dir",
        str(tmp / "work"),
        "--sandbox",
        "local",
    ]
