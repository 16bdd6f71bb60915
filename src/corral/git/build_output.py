"""Build output: what toolchains leave in a working tree that is never part of a change.
The one definition (`corral.git.worktree` re-exports it for readers of the change)."""

from __future__ import annotations

from pathlib import PurePosixPath

BUILD_OUTPUT_DIRS = frozenset(
    {
        "node_modules",
        "target",
        "build",
        "dist",
        "__pycache__",
        ".pytest_cache",
        ".mypy_cache",
        ".ruff_cache",
        ".tox",
        ".nox",
        ".venv",
        "venv",
        ".gradle",
    }
)
"""Folders, at any depth, whose untracked content is build or tool output."""

BUILD_OUTPUT_FILES = ("*.pyc", ".coverage", "*.egg-info")
"""Untracked files (or folders) by name pattern, at any depth, that are build output."""

BUILD_OUTPUT_GLOBS = (
    *(f"**/{name}/**" for name in sorted(BUILD_OUTPUT_DIRS)),
    *(f"**/{pattern}" for pattern in BUILD_OUTPUT_FILES),
    "**/*.egg-info/**",
)
"""The same, as git glob pathspecs."""


def is_build_output(relative: str) -> bool:
    """Whether an untracked path (relative, `/`-separated) is build output."""
    path = PurePosixPath(relative)
    folders = path.parts[:-1]
    if any(part in BUILD_OUTPUT_DIRS for part in folders):
        return True
    return any(PurePosixPath(part).match(p) for part in path.parts for p in BUILD_OUTPUT_FILES)
