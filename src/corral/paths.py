"""Paths that come from a spec or a repository (a monorepo's `workspace:`, `.corral.yaml`),
resolved, symlinks included, and refused when they leave the checkout or enter its git
folder: `svc -> /` must fail a job, never bind the host's root into a sandbox."""

from __future__ import annotations

from pathlib import Path


class PathEscapeError(ValueError):
    """A path from a spec or a repository leads outside the checkout, or into `.git`."""


def resolve_inside(root: Path, relative: str | Path, what: str) -> Path:
    """`root / relative`, resolved; PathEscapeError when it is not inside root, or is in a
    git folder. `what` names the path in the error ("the workspace folder 'svc'")."""
    base = root.resolve()
    resolved = (base / relative).resolve()
    if not resolved.is_relative_to(base):
        raise PathEscapeError(f"{what} leads outside the repository (to {resolved})")
    if ".git" in resolved.relative_to(base).parts:
        raise PathEscapeError(f"{what} leads into the repository's .git folder")
    return resolved
