"""Installed dependency folders kept by the content of their inputs, for the next checkout.

A `node_modules` installed in one checkout is kept under `<cache>/node-modules/<key>` (the key
is the install fingerprint: the manifests and lock files, the package manager and its
arguments, the node binary) as a hard-link copy, and a new checkout with the same inputs gets
a hard-link copy of it instead of an install: no network, no install scripts, a second or two
instead of minutes. The cache is per repository (`repository_key`), so a tree built by one
repository's install scripts never reaches another repository.

Kept only when nothing in it points into the checkout it was installed in (an absolute
symbolic link would make the copy use the first checkout's files). Tool caches that write in
place (`node_modules/.cache`, `.vite`) are left out of the kept tree. Trees unused for a week
are removed when another is kept.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from collections.abc import Sequence
from pathlib import Path

from corral.sandbox.base import temporary_sibling

DIRS = "corral-dirs.json"
"""In a kept tree: the project-relative folders whose node_modules it holds."""
_IN_PLACE_CACHES = (".cache", ".vite")
UNUSED_FOR_S = 7 * 24 * 3600


def store_root(cache_dir: Path) -> Path:
    return cache_dir / "node-modules"


def restore(cache_dir: Path, key: str, project_dir: Path) -> bool:
    """Put the tree kept for `key` into the checkout; False when there is none (or it fails)."""
    kept = store_root(cache_dir) / key
    try:
        folders = json.loads((kept / DIRS).read_text())
    except (OSError, ValueError):
        return False
    base = project_dir.resolve()
    targets = [project_dir / rel / "node_modules" for rel in folders if isinstance(rel, str)]
    if len(targets) != len(folders) or not all(
        t.parent.resolve().is_relative_to(base) for t in targets
    ):
        return False
    if any(_points_into(kept / rel / "node_modules", project_dir) for rel in folders):
        return False  # kept by an older corral, which let links out of the tree through
    for rel, target in zip(folders, targets, strict=True):
        _remove(target)
        if not _link_copy(kept / rel / "node_modules", target):
            for placed in targets:
                _remove(placed)
            return False
    os.utime(kept)
    return True


def keep(cache_dir: Path, key: str, project_dir: Path, folders: Sequence[Path]) -> None:
    """Keep the node_modules of `folders` (the project and its workspaces) under `key`."""
    root = store_root(cache_dir)
    kept = root / key
    if kept.exists():
        return
    present = [f for f in folders if (f / "node_modules").is_dir()]
    if not present or any(_points_into(f / "node_modules", project_dir) for f in present):
        return
    root.mkdir(parents=True, exist_ok=True)
    _prune(root)
    building = temporary_sibling(root / key)
    _remove(building)
    rels = [f.relative_to(project_dir).as_posix() for f in present]
    for rel, folder in zip(rels, present, strict=True):
        target = building / rel / "node_modules"
        target.parent.mkdir(parents=True, exist_ok=True)
        if not _link_copy(folder / "node_modules", target):
            _remove(building)
            return
        for name in _IN_PLACE_CACHES:
            _remove(target / name)
    (building / DIRS).write_text(json.dumps(rels))
    try:
        building.rename(kept)
    except OSError:  # another prepare kept the same tree first
        _remove(building)


def _link_copy(source: Path, target: Path) -> bool:
    """`cp -al`: folders copied, files hard-linked, symbolic links kept as they are."""
    if source.is_symlink() or not source.is_dir():
        return False
    result = subprocess.run(
        ["cp", "-al", "--", str(source), str(target)], capture_output=True, check=False
    )
    return result.returncode == 0


def _points_into(node_modules: Path, project_dir: Path) -> bool:
    """Whether a link in the tree is absolute, or leads out of the tree into the checkout."""
    if node_modules.is_symlink():
        return True
    inside = os.path.join(os.path.normpath(node_modules), "")
    for folder, subdirs, files in os.walk(node_modules):
        for name in (*subdirs, *files):
            path = os.path.join(folder, name)
            if not os.path.islink(path):
                continue
            target = os.readlink(path)
            # a `file:` dependency links into the checkout: a copy would lead into the next
            # checkout's files, which npm never prepared (their bins lack the exec bit)
            if os.path.isabs(target) or not os.path.normpath(
                os.path.join(folder, target)
            ).startswith(inside):
                return True
    return False


def _prune(root: Path) -> None:
    cutoff = time.time() - UNUSED_FOR_S
    for entry in root.iterdir():
        if entry.stat().st_mtime < cutoff or (
            entry.name.startswith(".") and entry.stat().st_mtime < time.time() - 3600
        ):
            _remove(entry)


def _remove(path: Path) -> None:
    if path.is_symlink() or path.is_file():
        path.unlink(missing_ok=True)
    elif path.exists():
        shutil.rmtree(path, ignore_errors=True)
