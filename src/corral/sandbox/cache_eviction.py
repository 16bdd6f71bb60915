"""Per-repository caches that no command has used for a while are removed.

Each repository gets its own dependency caches (`<cache root>/repos/<repository key>`), and a
fleet has thousands of repositories: kept forever they fill the disk, and then every job
fails. A runner marks its repository's cache used before each command (its folder's mtime);
when a runner is made, at most once per `CHECK_EVERY_S` for a cache root, the caches unused
for `UNUSED_FOR_S` are removed. A cache is first renamed out of the way (atomic), so a job of
that repository starting meanwhile makes a fresh, empty one instead of using one half
removed; a removal interrupted half way is finished at the next check.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import time
import uuid
from pathlib import Path

UNUSED_FOR_S = 14 * 24 * 3600
CHECK_EVERY_S = 6 * 3600
STAMP = ".evicted-at"
_EVICTING = ".evicting-"


def mark_used(cache_dir: Path) -> None:
    """The repository's cache is in use now (made again if it was evicted)."""
    cache_dir.mkdir(parents=True, exist_ok=True)
    os.utime(cache_dir)


def evict_unused(repos: Path, unused_for_s: float = UNUSED_FOR_S) -> list[str]:
    """Remove the caches below `repos` unused for `unused_for_s`, unless that was checked
    within `CHECK_EVERY_S`; the names of those removed."""
    now = time.time()
    stamp = repos / STAMP
    try:
        checked = stamp.stat().st_mtime
    except FileNotFoundError:
        checked = 0.0
    if checked > now - CHECK_EVERY_S:
        return []
    try:
        stamp.touch()
        entries = list(os.scandir(repos))
    except FileNotFoundError:
        return []
    evicted = []
    for entry in entries:
        if entry.name.startswith(_EVICTING):
            shutil.rmtree(entry.path, ignore_errors=True)
        elif not entry.name.startswith(".") and _unused(entry, now - unused_for_s):
            doomed = repos / f"{_EVICTING}{entry.name}-{uuid.uuid4().hex[:8]}"
            with contextlib.suppress(OSError):
                os.rename(entry.path, doomed)
                shutil.rmtree(doomed, ignore_errors=True)
                evicted.append(entry.name)
    return evicted


def _unused(entry: os.DirEntry[str], since: float) -> bool:
    try:
        return (
            entry.is_dir(follow_symlinks=False)
            and entry.stat(follow_symlinks=False).st_mtime < since
        )
    except OSError:
        return False
