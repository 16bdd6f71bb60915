"""The disk a job's writable folders use: the per-job quota's measure."""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path


def disk_usage(roots: Iterable[Path]) -> int:
    """Bytes allocated below `roots` (hard links and folders seen twice counted once)."""
    seen: set[tuple[int, int]] = set()
    total = 0
    stack = [str(r) for r in roots]
    while stack:
        path = stack.pop()
        try:
            entries = os.scandir(path)
        except OSError:
            continue
        with entries:
            for entry in entries:
                try:
                    st = entry.stat(follow_symlinks=False)
                except OSError:
                    continue
                key = (st.st_dev, st.st_ino)
                if key in seen:
                    continue
                seen.add(key)
                total += st.st_blocks * 512
                if entry.is_dir(follow_symlinks=False):
                    stack.append(entry.path)
    return total
