"""Per-command cgroups (v1 `memory` and `pids` hierarchies): limits that hold for a whole tree.

Why cgroups rather than rlimits: RLIMIT_AS counts reserved address space, which the JVM and
Go reserve far beyond what they use (`java -version` fails under 2 GB, `go run` under 512 MB),
RLIMIT_DATA is per process (a build of eight compilers gets eight times the limit) and turns
an overrun into an ordinary allocation failure nobody can tell apart, and RLIMIT_NPROC is
ignored for root, whom a user namespace leaves as root. A cgroup bounds the sum over every
descendant and counts its own OOM kills and refused forks, so a limit hit can be reported.

Each command gets `corral/<unique>` below the caller's own cgroup of each controller, so the
caller's accounting still includes it. cgroup v2 needs a delegated subtree and is not
supported yet; `find_cgroups()` returns None and the runner falls back to rlimits.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import os
import signal
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)

CONTROLLERS = ("memory", "pids")


@dataclass(frozen=True)
class CgroupRoots:
    """Where this process may create child cgroups, one folder per controller."""

    memory: Path
    pids: Path

    def create(self, memory_mb: int | None, max_processes: int | None) -> CommandCgroup:
        name = f"corral/{os.getpid()}-{_pid_namespace()}-{uuid.uuid4().hex[:12]}"
        memory, pids = self.memory / name, self.pids / name
        memory.mkdir(parents=True)
        pids.mkdir(parents=True)
        group = CommandCgroup(memory, pids)
        try:
            group.set_limits(memory_mb, max_processes)
        except OSError:
            group.remove()
            raise
        return group


@dataclass(frozen=True)
class CommandCgroup:
    """The cgroups of one command: join them, read what was hit, kill and remove them."""

    memory: Path
    pids: Path

    @property
    def procs_files(self) -> tuple[Path, Path]:
        """The files listing the processes in the groups."""
        return self.memory / "cgroup.procs", self.pids / "cgroup.procs"

    def join(self, pid: int) -> None:
        """Move process `pid` into both groups (its later children are born inside)."""
        for procs in self.procs_files:
            procs.write_text(str(pid))

    def set_limits(self, memory_mb: int | None, max_processes: int | None) -> None:
        if memory_mb is not None:
            limit = str(memory_mb * 1024 * 1024)
            (self.memory / "memory.limit_in_bytes").write_text(limit)
            memsw = self.memory / "memory.memsw.limit_in_bytes"
            if memsw.exists():  # without it, a machine with swap swaps instead of stopping
                memsw.write_text(limit)
        if max_processes is not None:
            (self.pids / "pids.max").write_text(str(max_processes))

    def oom_kills(self) -> int:
        return _counter(self.memory / "memory.oom_control", "oom_kill")

    def refused_forks(self) -> int:
        return _counter(self.pids / "pids.events", "max")

    def kill_all(self) -> None:
        """SIGKILL every process still in the group, repeating while forks race the kill."""
        for _ in range(20):
            pids = self._pids()
            if not pids:
                return
            for pid in pids:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
            time.sleep(0.01)

    def remove(self, wait_s: float = 5.0) -> None:
        """Remove both groups once their processes are gone (killing stragglers after wait_s).

        A group that cannot be removed is logged, not fatal.
        """
        if not self._emptied(wait_s):
            self.kill_all()
            self._emptied(wait_s)
        for path in (self.memory, self.pids):
            try:
                path.rmdir()
            except FileNotFoundError:
                pass
            except OSError as exc:
                log.warning("could not remove cgroup %s: %s", path, exc)

    def _emptied(self, wait_s: float) -> bool:
        """Wait for the processes to leave (they linger a moment after a namespace exits)."""
        deadline = time.monotonic() + wait_s
        while self._pids():
            if time.monotonic() > deadline:
                return False
            time.sleep(0.001)
        return True

    def _pids(self) -> set[int]:
        found: set[int] = set()
        for procs in self.procs_files:
            with contextlib.suppress(FileNotFoundError):
                found.update(int(line) for line in procs.read_text().split())
        return found


def _counter(path: Path, key: str) -> int:
    with contextlib.suppress(FileNotFoundError):
        for line in path.read_text().splitlines():
            name, _, value = line.partition(" ")
            if name == key:
                return int(value)
    return 0


@functools.cache
def find_cgroups() -> CgroupRoots | None:
    """The cgroup v1 folders this process may create children in, or None (checked once)."""
    try:
        roots = CgroupRoots(**{c: _own_v1_cgroup(c) for c in CONTROLLERS})
        probe = roots.create(memory_mb=64, max_processes=64)
    except (OSError, LookupError) as exc:
        log.warning("no cgroups (%s): RLIMIT_DATA bounds memory, processes are unbounded", exc)
        return None
    probe.remove()
    removed = remove_leftovers(roots)
    if removed:
        log.info("removed %d cgroups left by corral processes that were killed", removed)
    return roots


def remove_leftovers(roots: CgroupRoots) -> int:
    """Remove the command cgroups of corral processes that are gone (killed with SIGKILL,
    they could not clean up), killing what still runs in them. Returns how many."""
    removed = 0
    for name in _leftover_names(roots):
        group = CommandCgroup(roots.memory / "corral" / name, roots.pids / "corral" / name)
        group.kill_all()
        group.remove(wait_s=1.0)
        removed += not group.memory.exists() and not group.pids.exists()
    return removed


def _leftover_names(roots: CgroupRoots) -> set[str]:
    names: set[str] = set()
    for parent in (roots.memory / "corral", roots.pids / "corral"):
        with contextlib.suppress(FileNotFoundError):
            names.update(p.name for p in parent.iterdir() if p.is_dir())
    return {n for n in names if not _owner_alive(n)}


def _owner_alive(name: str) -> bool:
    """Whether the corral process that made cgroup `<pid>-<pid namespace>-<id>` still runs.

    A group made in another PID namespace (a corral in another container that shares this
    cgroup hierarchy) counts as alive: its pid means nothing here, and removing it would kill
    that corral's running command. Its own namespace's corrals sweep it."""
    pid, _, rest = name.partition("-")
    if not pid.isdigit():
        return False
    namespace, _, _ = rest.partition("-")
    if rest.count("-") == 1 and namespace != _pid_namespace():
        return True
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@functools.cache
def _pid_namespace() -> str:
    """This process's PID namespace, as the inode number of /proc/self/ns/pid."""
    try:
        return str(os.stat("/proc/self/ns/pid").st_ino)
    except OSError:
        return "0"


def _own_v1_cgroup(controller: str) -> Path:
    """The folder of this process's cgroup in the v1 hierarchy of `controller`."""
    mount = _v1_mount(controller)
    for line in Path("/proc/self/cgroup").read_text().splitlines():
        _, controllers, path = line.split(":", 2)
        if controller in controllers.split(","):
            return mount / path.lstrip("/")
    raise LookupError(f"this process is in no {controller} cgroup")


def _v1_mount(controller: str) -> Path:
    for line in Path("/proc/self/mounts").read_text().splitlines():
        _, mount_point, fstype, options, *_ = line.split()
        if fstype == "cgroup" and controller in options.split(","):
            return Path(mount_point)
    raise LookupError(f"no cgroup v1 hierarchy has the {controller} controller")
