"""The `bwrap` backend: each command in its own bubblewrap sandbox.

What a command sees: the host's filesystem read-only, with the host's home, /tmp, /var/tmp
and /run replaced by empty tmpfs (no credentials, no sockets of host services); the
toolchains it finds through PATH and RUSTUP_HOME, PYENV_ROOT... bound back read-only; its
workspace, the dependency caches and a private HOME read-write; new /proc and /dev; its own
PID, IPC, UTS, cgroup, user and network namespaces (the network one shared only with
network="open"); no capabilities; an environment allowlist (env.py). Memory and process
limits come from a per-command cgroup (cgroup.py), else RLIMIT_DATA.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import logging
import os
import shutil
import signal
import subprocess
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Literal

from corral.sandbox.base import (
    CommandResult,
    LimitHit,
    Limits,
    NetworkPolicy,
    ToolMissingError,
)
from corral.sandbox.cgroup import CommandCgroup, find_cgroups
from corral.sandbox.env import sandbox_env
from corral.sandbox.local import kill_group, run_process

log = logging.getLogger(__name__)

HIDDEN_DIRS = ("/tmp", "/var/tmp", "/run")
"""Replaced by an empty tmpfs inside, besides the host's home."""
TOOLCHAIN_VARS = (
    "RUSTUP_HOME",
    "CARGO_HOME",
    "PYENV_ROOT",
    "GOROOT",
    "JAVA_HOME",
    "MAVEN_HOME",
    "M2_HOME",
    "GRADLE_HOME",
    "NVM_DIR",
    "SDKMAN_DIR",
    "VOLTA_HOME",
)
"""Folders a toolchain is found through, bound back read-only when they lie in a hidden dir."""
JOIN_CGROUPS = 'echo $$ > "$1" && echo $$ > "$2" && shift 2 && exec "$@"'
"""Moves the shell into both cgroups, then becomes bwrap, so nothing escapes the limits."""
FIX_HINT = (
    "Install bubblewrap (`apt-get install bubblewrap`), allow unprivileged user namespaces "
    "(`sysctl -w kernel.unprivileged_userns_clone=1`, or "
    "`kernel.apparmor_restrict_unprivileged_userns=0` on Ubuntu) or run as root; "
    "for development only, `--sandbox local` runs commands without isolation."
)


class SandboxUnavailableError(RuntimeError):
    """bubblewrap is missing or cannot create namespaces on this machine."""


@dataclass(frozen=True, order=True)
class Mount:
    path: Path
    kind: Literal["tmpfs", "ro-bind", "bind"]

    def args(self) -> list[str]:
        if self.kind == "tmpfs":
            return ["--tmpfs", str(self.path)]
        return [f"--{self.kind}", str(self.path), str(self.path)]


@dataclass(frozen=True)
class MountPlan:
    """The mounts on top of the read-only root, parents before children."""

    mounts: tuple[Mount, ...]

    def visible(self, path: Path) -> bool:
        """Whether the host's file at `path` is what the sandbox sees there."""
        covering = [m for m in self.mounts if path.is_relative_to(m.path)]
        return not covering or max(covering, key=lambda m: len(m.path.parts)).kind != "tmpfs"

    def args(self) -> list[str]:
        ordered = sorted(self.mounts, key=lambda m: (len(m.path.parts), m.kind != "tmpfs"))
        return [arg for mount in ordered for arg in mount.args()]


class BwrapRunner:
    """Runs each command in a fresh bubblewrap sandbox confined to `workspace`."""

    def __init__(
        self,
        workspace: Path,
        cache_dir: Path,
        *,
        home_root: Path | None = None,
        base_env: Mapping[str, str] | None = None,
        bwrap: str = "bwrap",
        use_cgroups: bool = True,
    ) -> None:
        """`home_root` holds one private HOME per workspace (default: beside cache_dir).

        `use_cgroups=False` limits memory with RLIMIT_DATA only, as when cgroups are missing.
        """
        self._bwrap = require_bwrap(bwrap)
        self._workspace = workspace.resolve()
        self._cache_dir = cache_dir.resolve()
        self._home_root = home_root or self._cache_dir.with_name(cache_dir.name + "-homes")
        self._base_env = dict(os.environ if base_env is None else base_env)
        self._use_cgroups = use_cgroups
        self._cache_dir.mkdir(parents=True, exist_ok=True)
        self.home.mkdir(parents=True, exist_ok=True)

    @property
    def cache_dir(self) -> Path:
        return self._cache_dir

    @property
    def workspace(self) -> Path:
        return self._workspace

    @property
    def home(self) -> Path:
        """This workspace's private HOME: persistent, never shared with another workspace."""
        digest = hashlib.sha256(str(self._workspace).encode()).hexdigest()[:16]
        return self._home_root.resolve() / digest

    def for_workspace(self, workspace: Path) -> BwrapRunner:
        return BwrapRunner(
            workspace,
            self._cache_dir,
            home_root=self._home_root,
            base_env=self._base_env,
            bwrap=self._bwrap,
            use_cgroups=self._use_cgroups,
        )

    def run(
        self,
        argv: Sequence[str],
        *,
        cwd: Path,
        env: Mapping[str, str] | None = None,
        network: NetworkPolicy = "none",
        limits: Limits | None = None,
        stdin: str | None = None,
    ) -> CommandResult:
        limits = limits or Limits()
        cwd = self._inside_workspace(cwd)
        full_env = sandbox_env(self._base_env, env, home=str(self.home), network=network)
        plan = self.mount_plan(full_env)
        if not argv or find_program(argv[0], full_env.get("PATH", ""), cwd, plan) is None:
            raise ToolMissingError(argv[0] if argv else "(empty command)")
        with self._cgroup(limits) as group, _PidNamespace() as namespace:
            sandboxed = [*self.bwrap_args(plan, cwd, network), *namespace.args(), "--", *argv]
            result = run_process(
                [*_confine(group, limits), *sandboxed],
                cwd=cwd,
                env=full_env,
                limits=limits,
                stdin=stdin,
                kill=lambda proc: _kill_everything(proc, namespace, group),
                pass_fds=namespace.pass_fds,
            )
            return replace(result, argv=tuple(argv), limit_hit=_limit_hit(result, group))

    def bwrap_args(self, plan: MountPlan, cwd: Path, network: NetworkPolicy) -> list[str]:
        return [
            self._bwrap,
            "--unshare-all",
            *(["--share-net"] if network == "open" else []),
            "--die-with-parent",
            "--new-session",
            "--cap-drop",
            "ALL",
            "--ro-bind",
            "/",
            "/",
            "--proc",
            "/proc",
            "--dev",
            "/dev",
            *plan.args(),
            "--chdir",
            str(cwd),
        ]

    def mount_plan(self, env: Mapping[str, str]) -> MountPlan:
        hidden = (*HIDDEN_DIRS, *_host_home(self._base_env))
        writable = (self._workspace, self._cache_dir, self.home)
        base = MountPlan(
            tuple(Mount(Path(d), "tmpfs") for d in hidden)
            + tuple(Mount(p, "bind") for p in writable)
        )
        bound_back: list[Mount] = []
        for path in sorted({p for p in _toolchain_paths(env) if not base.visible(p)}):
            if not any(path.is_relative_to(m.path) for m in bound_back):  # parents sort first
                bound_back.append(Mount(path, "ro-bind"))
        return MountPlan(base.mounts + tuple(bound_back))

    def _inside_workspace(self, cwd: Path) -> Path:
        resolved = cwd.resolve()
        if not resolved.is_relative_to(self._workspace):
            raise ValueError(f"{cwd} is outside the sandbox's workspace {self._workspace}")
        return resolved

    @contextlib.contextmanager
    def _cgroup(self, limits: Limits) -> Iterator[CommandCgroup | None]:
        roots = find_cgroups() if self._use_cgroups else None
        if roots is None or (limits.memory_mb is None and limits.max_processes is None):
            yield None
            return
        group = roots.create(limits.memory_mb, limits.max_processes)
        try:
            yield group
        finally:
            group.remove()


def _confine(group: CommandCgroup | None, limits: Limits) -> list[str]:
    """The command prefix that applies the limits to bwrap and all it starts."""
    if group is not None:
        return ["/bin/sh", "-c", JOIN_CGROUPS, "sh", *map(str, group.procs_files)]
    if limits.memory_mb is not None:
        return ["prlimit", f"--data={limits.memory_mb * 1024 * 1024}"]
    return []


def _kill_everything(
    proc: subprocess.Popen[bytes], namespace: _PidNamespace, group: CommandCgroup | None
) -> None:
    """Kill the sandbox's init, so the kernel kills its whole PID namespace, then the rest.

    bwrap exits once the namespace is empty; killing bwrap first would return before that.
    """
    namespace.kill_init()
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=10)
    kill_group(proc)
    if group is not None:
        group.kill_all()


class _PidNamespace:
    """The host pid of the sandbox's init, which bwrap reports through `--info-fd`."""

    def __init__(self) -> None:
        self._read, self._write = os.pipe()
        os.set_blocking(self._read, False)

    def __enter__(self) -> _PidNamespace:
        return self

    def __exit__(self, *exc: object) -> None:
        for fd in (self._read, self._write):
            with contextlib.suppress(OSError):
                os.close(fd)

    @property
    def pass_fds(self) -> tuple[int]:
        return (self._write,)

    def args(self) -> list[str]:
        return ["--info-fd", str(self._write)]

    def kill_init(self) -> None:
        try:
            info = json.loads(os.read(self._read, 65536))
        except (BlockingIOError, ValueError):
            return  # bwrap has not started the sandbox (yet): there is nothing inside to kill
        with contextlib.suppress(ProcessLookupError):
            os.kill(int(info["child-pid"]), signal.SIGKILL)


def _limit_hit(result: CommandResult, group: CommandCgroup | None) -> LimitHit | None:
    if result.limit_hit == "timeout" or group is None:
        return result.limit_hit
    if group.oom_kills():
        return "memory"
    if group.refused_forks():
        return "processes"
    return result.limit_hit


def _toolchain_paths(env: Mapping[str, str]) -> list[Path]:
    """PATH entries, toolchain homes and the resolver's configuration: what must stay seen."""
    named = [*env.get("PATH", "").split(os.pathsep), *(env.get(v, "") for v in TOOLCHAIN_VARS)]
    paths = [Path(n) for n in named if n and Path(n).is_absolute()]
    # a version manager's shims (pyenv, rbenv, asdf) run the manager from the folder above
    paths += [p.parent for p in paths if p.name == "shims"]
    paths.append(Path("/etc/resolv.conf").resolve())
    return [p for p in paths if p.exists()]


def _host_home(env: Mapping[str, str]) -> list[str]:
    home = env.get("HOME", "")
    return [home] if home not in ("", "/") else []


def find_program(name: str, path: str, cwd: Path, plan: MountPlan) -> Path | None:
    """Where the sandbox would find `name`: a PATH lookup on the host, skipping hidden dirs."""
    if "/" in name:
        candidates = [cwd / name]
    else:
        candidates = [Path(d) / name for d in path.split(os.pathsep) if d]
    for candidate in candidates:
        if candidate.is_file() and os.access(candidate, os.X_OK) and plan.visible(candidate):
            return candidate
    return None


def require_bwrap(bwrap: str = "bwrap") -> str:
    """The path of a bwrap that can create namespaces here, else SandboxUnavailableError."""
    problem = _bwrap_problem(bwrap)
    if problem:
        raise SandboxUnavailableError(f"{problem}. {FIX_HINT}")
    return shutil.which(bwrap) or bwrap


@functools.cache
def _bwrap_problem(bwrap: str) -> str | None:
    """Why a trivial sandbox fails to start, or None; checked once per process."""
    path = shutil.which(bwrap)
    if path is None:
        return f"bubblewrap (`{bwrap}`) is not installed"
    probe = [path, "--unshare-all", "--die-with-parent", "--cap-drop", "ALL"]
    probe += ["--ro-bind", "/", "/", "--proc", "/proc", "--dev", "/dev", "true"]
    try:
        done = subprocess.run(probe, capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"bubblewrap could not start: {exc}"
    if done.returncode != 0:
        return f"bubblewrap cannot create a sandbox here: {done.stderr.strip() or done.returncode}"
    return None
