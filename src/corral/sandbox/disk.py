"""The per-command disk quota: how much the filesystem of the job's folders may lose.

Walking a workspace and its caches after every command costs seconds (100 000 files in a
toolchain cache took 13 s here), so the measure is the free space of the filesystem that holds
the workspace, its caches and HOME (`statvfs`), read when the command starts and about once
a second while it runs: a command that has used up more than `disk_mb` is killed and reported
as `limit_hit="disk"`. It is an upper bound: another process writing to the same filesystem at
the same time counts against the command too, so the default quota is generous. What it does
not bound: files a command had already written before (the job's earlier commands each had
their own quota), and the sandbox's /tmp, which is a tmpfs charged to its memory limit.
RLIMIT_FSIZE (`Limits.max_file_mb`) bounds each single file as it is written.
"""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path

from corral.sandbox.base import CommandResult, LimitHit


class DiskWatch:
    """Tells when a running command has used more than `disk_mb` of its filesystem."""

    def __init__(self, folder: Path, disk_mb: int | None) -> None:
        self._folder = folder
        self._quota = None if disk_mb is None else disk_mb * 1024 * 1024
        self._start = self._free() if self._quota is not None else 0
        self.used = 0

    def _free(self) -> int:
        st = os.statvfs(self._folder)
        return st.f_bavail * st.f_frsize

    def watch(self) -> LimitHit | None:
        if self._quota is None:
            return None
        self.used = max(self.used, self._start - self._free())
        return "disk" if self.used > self._quota else None

    def report(self, result: CommandResult) -> CommandResult:
        """The result, marked when the command went over its quota (also if it ended first)."""
        if result.limit_hit is None and self.watch() is None:
            return result
        if result.limit_hit not in (None, "disk"):
            return result
        note = f"\n[corral: stopped after writing {self.used >> 20} MB, over its disk quota]"
        return replace(result, limit_hit="disk", stderr=result.stderr + note)
