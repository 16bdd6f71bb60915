"""Finding the projects in a repository, monorepos included."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from corral.git.build_output import BUILD_OUTPUT_DIRS
from corral.verifiers.base import Verifier

SKIPPED_DIRS = BUILD_OUTPUT_DIRS | frozenset(
    {
        "out",
        "vendor",
        "third_party",
        "env",
        ".mvn",
        ".git",
        ".hg",
        ".svn",
        ".idea",
        ".vscode",
        "bin",
        "obj",
        "site-packages",
        "testdata",
    }
)
"""Build output (corral.git.build_output), plus vendored code, tool state and test data:
no project of the repository's own is found there."""


@dataclass(frozen=True)
class Project:
    verifier: Verifier
    directory: Path

    def relative(self, repo_root: Path) -> str:
        rel = self.directory.relative_to(repo_root).as_posix()
        return rel or "."


def find_projects(repo_root: Path, verifiers: list[Verifier]) -> list[Project]:
    """Every (verifier, folder) pair that applies, shallowest first.

    Hidden and vendored/build folders are skipped. A folder below a project of the same
    verifier is skipped unless the verifier is `nested`.
    """
    found: list[Project] = []
    roots_by_verifier: dict[str, list[Path]] = {}
    for directory, subdirs, _ in os.walk(repo_root):
        subdirs[:] = sorted(d for d in subdirs if d not in SKIPPED_DIRS and not d.startswith("."))
        here = Path(directory)
        for verifier in verifiers:
            if not verifier.detect(here):
                continue
            roots = roots_by_verifier.setdefault(verifier.name, [])
            if not verifier.nested and any(here.is_relative_to(r) for r in roots):
                continue
            roots.append(here)
            found.append(Project(verifier, here))
    return found
