"""Test repositories: a sample that needs no toolchain (`notes_repo`), and the helpers that
make repositories from files (their home is corral.forge.repos)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from corral.forge.repos import GIT_ENV, git, init_repo, make_remote, write_files

__all__ = [
    "GIT_ENV",
    "NOTES_CONFIG",
    "MakeRepo",
    "git",
    "init_repo",
    "make_remote",
    "notes_repo",
    "write_files",
]

MakeRepo = Callable[..., Path]

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
    """A repository that needs no toolchain: NOTES.md, checked by the NOTES_CONFIG verifier."""
    return {".corral.yaml": NOTES_CONFIG, "NOTES.md": text}
