"""Hostile commands vs the host's resources: filling the disk, writing one huge file, and
cgroups left behind when corral itself is killed."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from corral.sandbox import BwrapRunner, cgroup
from corral.sandbox.base import Limits

FILL = "i=0; while [ $i -lt 40 ]; do head -c 10000000 /dev/zero > f$i || exit 9; i=$((i+1)); done"


@pytest.mark.parametrize("quota", [100, None], ids=["quota", "no-quota"])
def test_a_command_filling_the_disk_is_stopped(tmp_path: Path, quota: int | None) -> None:
    runner = BwrapRunner(tmp_path, tmp_path / "cache", home_root=tmp_path / "homes")
    result = runner.run(["sh", "-c", FILL], cwd=tmp_path, limits=Limits(disk_mb=quota))
    written = sum(p.stat().st_size for p in tmp_path.glob("f*"))
    if quota is None:
        assert result.ok and written == 400_000_000
    else:
        assert result.limit_hit == "disk", result.output
        assert "disk quota" in result.stderr


@pytest.mark.parametrize("max_file_mb", [10, None], ids=["limit", "no-limit"])
def test_a_file_larger_than_the_limit_cannot_be_written(
    tmp_path: Path, max_file_mb: int | None
) -> None:
    runner = BwrapRunner(tmp_path, tmp_path / "cache", home_root=tmp_path / "homes")
    limits = Limits(max_file_mb=max_file_mb)
    result = runner.run(
        ["sh", "-c", "head -c 50000000 /dev/zero > big"], cwd=tmp_path, limits=limits
    )
    size = (tmp_path / "big").stat().st_size
    assert size == (10 * 1024 * 1024 if max_file_mb else 50_000_000), result.output


KILLED_MID_COMMAND = """
import sys
from pathlib import Path
from corral.sandbox import BwrapRunner
ws = Path(sys.argv[1])
BwrapRunner(ws, ws / "cache", home_root=ws / "homes").run(["sleep", "600"], cwd=ws)
"""


def command_groups() -> set[str]:
    roots = cgroup.find_cgroups()
    assert roots is not None, "this test needs cgroups"
    return {p.name for p in (roots.memory / "corral").iterdir() if p.is_dir()}


def running_groups(pid: int) -> set[str]:
    """The cgroups of process `pid` with a process in them: its command's, not its start-up
    probe (made and removed at once) nor another test's (other workers, other corrals on the
    host make and remove theirs beside this one)."""
    roots = cgroup.find_cgroups()
    assert roots is not None, "this test needs cgroups"
    found = set()
    for name in command_groups():
        if name.startswith(f"{pid}-"):
            with contextlib.suppress(FileNotFoundError):
                if (roots.memory / "corral" / name / "cgroup.procs").read_text().strip():
                    found.add(name)
    return found


@pytest.mark.parametrize("cleaned", [True, False], ids=["cleaned", "cleanup-removed"])
def test_cgroups_left_by_a_killed_corral_are_removed_at_the_next_start(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cleaned: bool
) -> None:
    corral = subprocess.Popen([sys.executable, "-c", KILLED_MID_COMMAND, str(tmp_path)])
    deadline = time.monotonic() + 60
    while not running_groups(corral.pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    left = running_groups(corral.pid)
    assert left, "the command's cgroup never appeared"
    os.kill(corral.pid, signal.SIGKILL)
    corral.wait()

    if not cleaned:
        monkeypatch.setattr(cgroup, "remove_leftovers", lambda roots: 0)
    cgroup.find_cgroups.cache_clear()  # what a new corral process does first
    cgroup.find_cgroups()

    assert (left & command_groups() == set()) is cleaned
    if not cleaned:
        cgroup.remove_leftovers(cgroup.find_cgroups())  # type: ignore[arg-type]


def test_a_corral_in_another_pid_namespace_keeps_its_cgroups(tmp_path: Path) -> None:
    """Its pid means nothing here (gone here, running there): removing its group would kill
    its running command. A group of this namespace with the same dead pid is removed."""
    roots = cgroup.find_cgroups()
    assert roots is not None, "this test needs cgroups"
    gone = subprocess.Popen(["true"])
    gone.wait()
    ours = f"{gone.pid}-{cgroup._pid_namespace()}-{uuid.uuid4().hex[:12]}"
    theirs = f"{gone.pid}-1-{uuid.uuid4().hex[:12]}"
    roots_ = (roots.memory, roots.pids)
    made = [root / "corral" / name for root in roots_ for name in (ours, theirs)]
    for path in made:
        path.mkdir()
    try:
        cgroup.remove_leftovers(roots)
        assert theirs in command_groups()
        assert ours not in command_groups()
    finally:
        for path in made:
            with contextlib.suppress(FileNotFoundError):
                path.rmdir()
