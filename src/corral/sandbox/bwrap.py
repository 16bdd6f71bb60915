"""The `bwrap` backend: each command in its own bubblewrap sandbox.

What a command sees: only the system folders (/usr, /etc minus its secrets, /opt...)
read-only, empty /tmp, /var/tmp and /run; the toolchains it finds through PATH and
RUSTUP_HOME, PYENV_ROOT... bound read-only; its workspace (with the git metadata read-only),
its repository's dependency caches and a private HOME read-write, with the tool
configuration files in those caches replaced by corral's read-only ones and those in the
HOME removed before each command; new /proc and /dev;
its own PID, IPC, UTS, cgroup, user and network namespaces, as an unprivileged uid with no
capabilities; with network="open" only an allowlisting egress proxy (egress.py) outside;
an environment allowlist (env.py). Memory and process limits come from a per-command cgroup
(cgroup.py), else RLIMIT_DATA; file sizes from RLIMIT_FSIZE, the job's disk from a size
check of the writable folders after each command.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import logging
import os
import re
import resource
import shutil
import signal
import stat
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Literal

from corral import ecosystems
from corral.sandbox import cache_eviction
from corral.sandbox.base import (
    CommandResult,
    LimitHit,
    Limits,
    NetworkPolicy,
    ToolMissingError,
    temporary_sibling,
)
from corral.sandbox.cgroup import CommandCgroup, find_cgroups
from corral.sandbox.disk import DiskWatch
from corral.sandbox.egress import (
    EGRESS_PORT,
    FORWARDER_PATH,
    FORWARDER_SOURCE,
    SOCKET_PATH,
    EgressPolicy,
    EgressProxy,
    proxy_env,
    shared_proxy,
)
from corral.sandbox.env import sandbox_env
from corral.sandbox.local import finish_process, kill_group, start_process

log = logging.getLogger(__name__)

SYSTEM_DIRS = frozenset(
    {"usr", "etc", "opt", "bin", "sbin", "lib", "lib32", "lib64", "libx32", "nix", "sys"}
)
"""The top-level folders (or links to them) the sandbox sees, read-only; nothing else of `/`:
not /root, /home, /var, /srv, /mnt, /work, nor wherever corral's store and checkouts are."""
HIDDEN_DIRS = ("/tmp", "/var/tmp", "/run")
"""Empty tmpfs inside: programs expect them to exist and to be writable."""
MASKED_FILES = (
    "/etc/shadow",
    "/etc/shadow-",
    "/etc/gshadow",
    "/etc/gshadow-",
    "/etc/sudoers",
    "/etc/security/opasswd",
)
MASKED_DIRS = ("/etc/ssl/private", "/etc/sudoers.d", "/etc/ssh")
"""Secrets inside the visible system folders, replaced by an empty file or folder."""
SANDBOX_UID = 1000
"""The unprivileged user and group every command runs as, in its own user namespace."""
SANDBOX_USER = "corral"
CACHE_CONFIG_FILES = (
    "cargo/config.toml",
    "gradle/gradle.properties",
    "gradle/init.gradle",
    "gradle/init.gradle.kts",
)
CACHE_CONFIG_DIRS = ("gradle/init.d",)
CORRAL_CACHE_DIRS = ("gradle/corral", "cargo-generated-locks")
"""Written by corral on the host: read-only inside."""
INSTALLED_CACHE_DIRS = ("venvs", "node-modules")
"""Dependency environments shared between a repository's checkouts (built by prepare steps,
which have the network): read-only for every other command."""
CACHE_SCRUBBED = ("cargo/config",)
"""Removed before each command rather than masked: cargo warns when it and config.toml
both exist, and a command that writes it affects only itself."""
"""Tool configuration (and corral's own files) below the cache root, relative to it: what
the tools read from there is corral's read-only copy, never what a command wrote."""
HOME_CONFIG_FILES = (
    ".npmrc",
    ".yarnrc",
    ".yarnrc.yml",
    ".pip/pip.conf",
    ".config/pip/pip.conf",
    ".m2/settings.xml",
    ".gradle/gradle.properties",
    ".cargo/config.toml",
    ".gitconfig",
    ".config/git/config",
)
HOME_CONFIG_DIRS = (".gradle/init.d",)
"""The same for the private HOME: one command cannot configure the tools of the next. The
HOME is one workspace's alone, so these are removed before each command (`_remove_config`)
rather than masked: a bind each would cost more than the rest of the HOME's setup, and what
a command writes there lasts only until the next starts. Commands of a workspace that
overlap are the side-by-side steps of one check of one tree (verifiers.base.SideBySide):
the same repository's code, whose result they are anyway."""
MASK_CONTENT = {"settings.xml": "<settings/>\n"}
"""Empty files, except where the tool refuses an empty one."""
TOOLCHAIN_VARS = ecosystems.toolchain_dirs()
"""Folders a toolchain is found through, bound read-only when the system folders miss them."""
FIX_HINT = (
    "Install bubblewrap (`apt-get install bubblewrap`), allow unprivileged user namespaces "
    "(`sysctl -w kernel.unprivileged_userns_clone=1`, or "
    "`kernel.apparmor_restrict_unprivileged_userns=0` on Ubuntu) or run as root; "
    "for development only, `--sandbox local` runs commands without isolation."
)


class SandboxUnavailableError(RuntimeError):
    """bubblewrap is missing or cannot create namespaces on this machine."""


MountKind = Literal["tmpfs", "ro-bind", "bind", "symlink", "mask"]


@dataclass(frozen=True, order=True)
class Mount:
    """`path` inside the sandbox; `source` the host path bound there (default: `path`), the
    link target for a symlink, or the read-only stand-in for a mask."""

    path: Path
    kind: MountKind
    source: Path | None = None

    def args(self) -> list[str]:
        if self.kind == "tmpfs":
            return ["--tmpfs", str(self.path)]
        if self.kind == "symlink":
            return ["--symlink", str(self.source), str(self.path)]
        kind = "ro-bind" if self.kind == "mask" else self.kind
        return [f"--{kind}", str(self.source or self.path), str(self.path)]


@dataclass(frozen=True)
class MountPlan:
    """The mounts of the sandbox's (otherwise empty) root, parents before children."""

    mounts: tuple[Mount, ...]

    @functools.cached_property
    def _by_path(self) -> dict[Path, Mount]:
        return {m.path: m for m in sorted(self.mounts, key=lambda m: m.kind != "tmpfs")}

    def _deepest(self, path: Path) -> Mount | None:
        """The mount that decides what the sandbox sees at `path`: the deepest above it."""
        for ancestor in (path, *path.parents):
            mount = self._by_path.get(ancestor)
            if mount is not None:
                return mount
        return None

    def visible(self, path: Path) -> bool:
        """Whether the host's file at `path` is what the sandbox sees there."""
        deepest = self._deepest(path)
        if deepest is None:
            return False
        if deepest.kind == "symlink" and deepest.source is not None:
            target = (deepest.path.parent / deepest.source).resolve()
            return self.visible(target / path.relative_to(deepest.path))
        return deepest.kind in ("ro-bind", "bind") and deepest.source in (None, deepest.path)

    def args(self) -> list[str]:
        """The mounts' arguments, parents first, except those `late_args()` gives."""
        return self._args(late=False)

    def late_args(self) -> list[str]:
        """Binds of host folders with mounts of their own below them (/sys and its cgroup
        hierarchies) that nothing else is mounted in: bwrap reads the whole mount table for
        every bind, so those extra entries cost the least when they come after every other
        bind (after /dev's too). The order of the rest is unchanged."""
        return self._args(late=True)

    def _args(self, *, late: bool) -> list[str]:
        chosen = [m for m in self.mounts if (m in self._late) == late]
        ordered = sorted(chosen, key=lambda m: (len(m.path.parts), m.kind != "tmpfs"))
        return [arg for mount in ordered for arg in mount.args()]

    @functools.cached_property
    def _late(self) -> frozenset[Mount]:
        candidates = [
            m
            for m in self.mounts
            if m.kind in ("ro-bind", "bind") and _has_host_submounts(m.source or m.path)
        ]
        paths = [str(o.path) for o in self.mounts]
        return frozenset(m for m in candidates if sum(map(_below(m.path), paths)) == 1)


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
        egress: EgressPolicy | None = None,
    ) -> None:
        """`cache_dir` holds one cache per repository (`cache_dir/repos/<key>`), never shared
        with another; `home_root` one private HOME per workspace (default: beside cache_dir).

        `use_cgroups=False` limits memory with RLIMIT_DATA only, as when cgroups are missing.
        `egress` is what prepare steps may reach (default: registries, operator's mirrors).
        """
        self._bwrap = require_bwrap(bwrap)
        self._workspace = workspace.resolve()
        self._cache_root = cache_dir.resolve()
        self._home_root = home_root or self._cache_root.with_name(cache_dir.name + "-homes")
        self._base_env = dict(os.environ if base_env is None else base_env)
        self._use_cgroups = use_cgroups
        self._egress = egress
        cache_eviction.mark_used(self.cache_dir)
        cache_eviction.evict_unused(self._cache_root / "repos")
        self.home.mkdir(parents=True, exist_ok=True)
        self._private = _private_dir(self._home_root.resolve())

    @property
    def cache_dir(self) -> Path:
        """This repository's dependency caches: shared by its checkouts and its jobs only."""
        return self._cache_root / "repos" / repository_key(self._workspace)

    @property
    def cache_root(self) -> Path:
        return self._cache_root

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
            self._cache_root,
            home_root=self._home_root,
            base_env=self._base_env,
            bwrap=self._bwrap,
            use_cgroups=self._use_cgroups,
            egress=self._egress,
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
        proxy = self._proxy() if network == "open" else None
        if proxy is not None:
            full_env.update(proxy_env(EGRESS_PORT, full_env))
        if not argv:
            raise ToolMissingError("(empty command)")
        # a prepare step's forwarder is looked up in the plan: made first, as it always was
        early = self._checked_plan(argv[0], cwd, full_env, proxy) if proxy is not None else None
        command = [*self._forwarder(early, full_env), *argv] if early is not None else list(argv)
        disk = DiskWatch(self._workspace, limits.disk_mb)
        with (
            self._cgroup(limits) as group,
            _PidNamespace() as namespace,
            _ArgsPipe() as pending,
        ):
            # bwrap starts first and waits for its options: it is moved into the cgroups (an
            # RCU grace period of wall time) while the mount plan is made here.
            proc = start_process(
                [self._bwrap, "--args", str(pending.fd), "--", *command],
                cwd=cwd,
                env=full_env,
                stdin=stdin is not None,
                pass_fds=(*namespace.pass_fds, pending.fd),
            )
            with _stopped_on_error(proc):
                pending.started()
                with _joining(group, proc.pid):
                    plan = early or self._checked_plan(argv[0], cwd, full_env, None)
                _set_rlimits(proc.pid, group, limits)
                pending.send([*self.bwrap_args(plan, cwd)[1:], *namespace.args()])
            result = finish_process(
                proc,
                argv,
                limits=limits,
                stdin=stdin,
                kill=lambda proc: _kill_everything(proc, namespace, group),
                watch=disk.watch,
            )
            result = replace(result, limit_hit=_limit_hit(result, group))
        return disk.report(result)

    def _checked_plan(
        self, program: str, cwd: Path, env: Mapping[str, str], proxy: EgressProxy | None
    ) -> MountPlan:
        """`mount_plan` (which prepares the host side), once `program` is known to be seen."""
        plan = self.mount_plan(env, proxy)
        if find_program(program, env.get("PATH", ""), cwd, plan) is None:
            raise ToolMissingError(program)
        return plan

    def bwrap_args(self, plan: MountPlan, cwd: Path) -> list[str]:
        return bwrap_command(self._bwrap, plan, cwd)

    def mount_plan(self, env: Mapping[str, str], proxy: EgressProxy | None = None) -> MountPlan:
        cache_dir, home = self.cache_dir, self.home  # each reads the checkout's git metadata
        cache_eviction.mark_used(cache_dir)
        _scrub(cache_dir, CACHE_SCRUBBED)
        read_only = CORRAL_CACHE_DIRS + (INSTALLED_CACHE_DIRS if proxy is None else ())
        masks = _prepare_masks(
            self._private, cache_dir, CACHE_CONFIG_FILES, CACHE_CONFIG_DIRS + read_only
        )
        _remove_config(home, HOME_CONFIG_FILES + HOME_CONFIG_DIRS)
        base = MountPlan(
            (
                *_system_mounts(),
                *(Mount(Path(d), "tmpfs") for d in HIDDEN_DIRS),
                *(Mount(p, "bind") for p in (self._workspace, cache_dir, home)),
                *_git_metadata_mounts(self._workspace),
                *masks,
                *self._identity_mounts(),
                *(_proxy_mounts(proxy) if proxy is not None else ()),
            )
        )
        return with_toolchains(base, env, self._base_env, (self._workspace, self._cache_root))

    def _identity_mounts(self) -> list[Mount]:
        return identity_mounts(self._private, self.home)

    def _proxy(self) -> EgressProxy:
        return shared_proxy(self._egress or EgressPolicy.from_env(self._base_env))

    def _forwarder(self, plan: MountPlan, env: Mapping[str, str]) -> list[str]:
        return forwarder_command(plan, env, {EGRESS_PORT: SOCKET_PATH})

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


def bwrap_command(bwrap: str, plan: MountPlan, cwd: Path) -> list[str]:
    """bwrap's arguments for a sandbox with `plan`, started in `cwd` (the command follows)."""
    return [
        bwrap,
        "--unshare-all",
        "--unshare-user",
        "--uid",
        str(SANDBOX_UID),
        "--gid",
        str(SANDBOX_UID),
        "--die-with-parent",
        "--new-session",
        "--cap-drop",
        "ALL",
        *plan.args(),
        "--proc",
        "/proc",
        "--dev",
        "/dev",
        *plan.late_args(),
        "--remount-ro",
        "/",
        "--chdir",
        str(cwd),
    ]


def with_toolchains(
    base: MountPlan, env: Mapping[str, str], host_env: Mapping[str, str], keep_out: Sequence[Path]
) -> MountPlan:
    """`base` plus the toolchain folders of `env` it misses, read-only; never `/`, the host's
    home itself, or a folder holding one of `keep_out` (workspaces, cache roots)."""
    never = (Path("/"), *(Path(h) for h in _host_home(host_env)), *keep_out)
    return MountPlan(base.mounts + _toolchain_mounts(base, tuple(_toolchain_paths(env)), never))


@functools.lru_cache(maxsize=256)
def _toolchain_mounts(
    base: MountPlan, paths: tuple[Path, ...], never: tuple[Path, ...]
) -> tuple[Mount, ...]:
    """What `with_toolchains` adds: a function of its arguments only (the folders that exist
    are looked up on every call), so a job's commands compute it once."""
    bound: list[Mount] = []
    for path in sorted({p for p in paths if not base.visible(p)}):
        if any(path.is_relative_to(m.path) for m in bound):  # parents sort first
            continue
        if any(n.is_relative_to(path) for n in never):
            continue
        bound.append(Mount(path, "ro-bind"))
    return tuple(bound)


def identity_mounts(private: Path, home: Path) -> list[Mount]:
    """/etc/passwd and /etc/group naming the sandbox's user, with its HOME (the JVM takes
    `user.home` from there, not from $HOME)."""
    passwd = f"{SANDBOX_USER}:x:{SANDBOX_UID}:{SANDBOX_UID}::{home}:/bin/sh\n"
    group = f"{SANDBOX_USER}:x:{SANDBOX_UID}:\n"
    digest = hashlib.sha256(str(home).encode()).hexdigest()[:16]
    return [
        Mount(Path("/etc/passwd"), "mask", _private_file(private, f"passwd-{digest}", passwd)),
        Mount(Path("/etc/group"), "mask", _private_file(private, "group", group)),
    ]


def forwarder_command(
    plan: MountPlan, env: Mapping[str, str], ports: Mapping[int, Path]
) -> list[str]:
    """The prefix that runs forwarder.py (127.0.0.1:port to each socket) before the command."""
    python = find_python(plan, env)
    if python is None:
        raise SandboxUnavailableError(
            "network in the sandbox needs a python3 the sandbox can see "
            "(/usr/bin/python3 or on PATH) to reach corral's proxy"
        )
    pairs = [f"{port}={path}" for port, path in ports.items()]
    return [str(python), "-S", "-I", str(FORWARDER_PATH), *pairs, "--"]


def repository_key(workspace: Path) -> str:
    """Which repository a workspace belongs to: the URL its checkout was cloned from (so
    every job and campaign on one repository shares its caches, and no other repository
    does), else its git common dir (shared by a repository's worktrees), else the workspace
    itself. Caches are per key."""
    found = _git_dir(workspace)
    common = _common_dir(found[1]) if found else None
    identity = (_origin_url(common) if common else None) or common or workspace
    return hashlib.sha256(str(identity).encode()).hexdigest()[:16]


_ORIGIN_URL = re.compile(r'^\[remote "origin"\]\s*$(?:\n(?!\[).*)*?\n\s*url\s*=\s*(\S+)', re.M)


def _origin_url(common_dir: Path) -> str | None:
    """`remote.origin.url` from the checkout's own config (which corral's clone wrote and the
    sandbox cannot change), read as text: no git process runs on it."""
    try:
        text = (common_dir / "config").read_text(errors="replace")
    except OSError:
        return None
    match = _ORIGIN_URL.search(text)
    return match.group(1) if match else None


def _git_dir(workspace: Path) -> tuple[Path, Path] | None:
    """The `.git` entry of a workspace that is a checkout's root, and the git dir it names."""
    entry = workspace / ".git"
    if entry.is_dir() and not entry.is_symlink():
        return entry, entry
    if entry.is_file() and not entry.is_symlink():
        text = entry.read_text(errors="replace").strip()
        if text.startswith("gitdir:"):
            target = Path(text.removeprefix("gitdir:").strip())
            return entry, (workspace / target).resolve()
    return None


def _common_dir(git_dir: Path) -> Path:
    pointer = git_dir / "commondir"
    with contextlib.suppress(OSError):
        return (git_dir / pointer.read_text().strip()).resolve()
    return git_dir.resolve()


def _git_metadata_mounts(workspace: Path) -> list[Mount]:
    """The checkout's git metadata read-only (a worktree's own and common dirs too): nothing in
    the sandbox can set a hook, `core.fsmonitor` or a filter that git on the host would run."""
    found = _git_dir(workspace)
    if found is None:
        return []
    entry, git_dir = found
    mounts = {Mount(entry, "ro-bind")}
    for path in (git_dir, _common_dir(git_dir)):
        if path.is_dir():
            mounts.add(Mount(path, "ro-bind"))
    return sorted(mounts)


@functools.cache
def _system_mounts() -> tuple[Mount, ...]:
    mounts: list[Mount] = []
    for entry in sorted(Path("/").iterdir()):
        if entry.name not in SYSTEM_DIRS:
            continue
        if entry.is_symlink():
            mounts.append(Mount(entry, "symlink", Path(os.readlink(entry))))
        elif entry.is_dir():
            mounts.append(Mount(entry, "ro-bind"))
    mounts += [Mount(Path(f), "mask", Path("/dev/null")) for f in MASKED_FILES if Path(f).exists()]
    mounts += [Mount(Path(d), "tmpfs") for d in MASKED_DIRS if Path(d).is_dir()]
    resolv = Path("/etc/resolv.conf").resolve()
    if not any(resolv.is_relative_to(f"/{d}") for d in SYSTEM_DIRS) and resolv.is_file():
        mounts.append(Mount(resolv, "ro-bind"))
    return tuple(mounts)


def _below(folder: Path) -> Callable[[str], bool]:
    """Whether a path (a str) is `folder` or inside it; `/` holds every path."""
    prefix = str(folder).rstrip("/") + "/"
    return lambda path: path == str(folder) or path.startswith(prefix)


@functools.cache
def _host_mount_points() -> frozenset[Path]:
    """Where the host has mounts (read once per process: a later mount below a bound folder
    only costs time, since bwrap binds recursively either way)."""
    points = set()
    with contextlib.suppress(OSError):
        for line in Path("/proc/self/mountinfo").read_text().splitlines():
            fields = line.split(" ")
            if len(fields) > 4:
                points.add(Path(re.sub(r"\\([0-7]{3})", _octal, fields[4])))
    return frozenset(points)


def _octal(match: re.Match[str]) -> str:
    return chr(int(match.group(1), 8))


@functools.lru_cache(maxsize=4096)
def _has_host_submounts(path: Path) -> bool:
    return any(p != path and p.is_relative_to(path) for p in _host_mount_points())


def _private_dir(home_root: Path) -> Path:
    """corral's own files for the sandbox (stand-ins for masked files): beside the homes,
    outside every folder a command can write."""
    private = home_root / ".corral-sandbox"
    private.mkdir(parents=True, exist_ok=True)
    return private


@functools.cache
def _private_file(private: Path, name: str, content: str) -> Path:
    """A read-only file of corral's, written once per process (no command can change it)."""
    path = private / name
    if not path.is_file() or path.read_text() != content:
        tmp = temporary_sibling(path)
        tmp.write_text(content)
        tmp.chmod(0o444)
        tmp.replace(path)
    return path


def _prepare_masks(
    private: Path, root: Path, files: Sequence[str], dirs: Sequence[str]
) -> list[Mount]:
    """Read-only stand-ins over configuration files below `root`, a folder commands write.

    The mount points are made on the host first; a symlink a command left on the way is
    removed (unlinking a link never touches its target)."""
    mounts = []
    empty_dir = private / "empty"
    empty_dir.mkdir(exist_ok=True)
    for rel, is_dir in [*((f, False) for f in files), *((d, True) for d in dirs)]:
        target = root / rel
        if not _make_mount_point(root, Path(rel), is_dir):
            log.warning("cannot protect %s: left unmasked", target)
            continue
        if rel in CORRAL_CACHE_DIRS or rel in INSTALLED_CACHE_DIRS:
            mounts.append(Mount(target, "ro-bind"))
        elif is_dir:
            mounts.append(Mount(target, "mask", empty_dir))
        else:
            content = MASK_CONTENT.get(Path(rel).name, "")
            mounts.append(
                Mount(target, "mask", _private_file(private, f"mask-{Path(rel).name}", content))
            )
    return mounts


def _scrub(root: Path, names: Sequence[str]) -> None:
    """Remove root/name (a file, a link or a folder), if there is no link on the way."""
    for name in names:
        path = root / name
        if path.parent.resolve() != path.parent:
            continue
        with contextlib.suppress(FileNotFoundError):
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path)
            else:
                path.unlink()


def _remove_config(root: Path, names: Sequence[str]) -> None:
    """Remove each root/name (a file, a folder, a link, anything). Whatever stands on the way
    where a folder should be (a link, a file) is removed instead, so nothing outside root is
    reached: every step is opened relative to the folder before it, never through a link."""
    root_fd = os.open(root, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
    try:
        for name in names:
            _remove_below(root_fd, Path(name).parts)
    finally:
        os.close(root_fd)


def _remove_below(dir_fd: int, parts: tuple[str, ...]) -> None:
    first, rest = parts[0], parts[1:]
    try:
        st = os.stat(first, dir_fd=dir_fd, follow_symlinks=False)
    except FileNotFoundError:
        return
    if rest and stat.S_ISDIR(st.st_mode):
        try:
            fd = os.open(first, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW, dir_fd=dir_fd)
        except FileNotFoundError:
            return
        try:
            _remove_below(fd, rest)
        finally:
            os.close(fd)
    elif stat.S_ISDIR(st.st_mode):
        # a side-by-side step of the same check may be removing it too: what counts is that
        # it is gone afterwards
        shutil.rmtree(first, dir_fd=dir_fd, ignore_errors=True)
        with contextlib.suppress(FileNotFoundError):
            os.stat(first, dir_fd=dir_fd, follow_symlinks=False)
            raise SandboxUnavailableError(f"cannot remove the tool configuration {first!r}")
    else:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(first, dir_fd=dir_fd)


def _make_mount_point(root: Path, rel: Path, is_dir: bool) -> bool:
    """Create root/rel (a folder or an empty file) with no symlink on the way."""
    current = str(root)  # str, not Path: this runs for ~20 paths before every command
    parts = rel.parts
    for index, part in enumerate(parts):
        current = f"{current}/{part}"
        last = index == len(parts) - 1
        want_dir = is_dir or not last
        try:
            st: os.stat_result | None = os.lstat(current)
        except FileNotFoundError:
            st = None
        if st is not None and (stat.S_ISLNK(st.st_mode) or stat.S_ISDIR(st.st_mode) != want_dir):
            if stat.S_ISDIR(st.st_mode):
                shutil.rmtree(current, ignore_errors=True)
            else:
                os.unlink(current)
            st = None
        if st is None and not _created(current, want_dir):
            return False
    return True


def _created(path: str, is_dir: bool) -> bool:
    """Make `path` (an empty file or a folder); also true when another command of the same
    workspace starting at the same moment (a check's side-by-side steps) made it just now,
    as long as it is what is wanted and not a link."""
    try:
        if is_dir:
            os.mkdir(path)
        else:
            os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o644))
        return True
    except FileExistsError:
        try:
            st = os.lstat(path)
        except OSError:
            return False
        return not stat.S_ISLNK(st.st_mode) and stat.S_ISDIR(st.st_mode) == is_dir
    except OSError:
        return False


@contextlib.contextmanager
def _joining(group: CommandCgroup | None, pid: int) -> Iterator[None]:
    """Move the waiting bwrap `pid` into the command's cgroups from a thread while the body
    runs; wait for that at the end, even on an error (until bwrap is reaped after that, its
    pid names no other process). bwrap forks nothing before it has its options, so
    everything the command starts is inside the limits. SandboxUnavailableError if the move
    failed."""
    if group is None:
        yield
        return
    failed: list[OSError] = []
    thread = threading.Thread(
        target=_join, args=(group, pid, failed), name="corral-cgroup-join", daemon=True
    )
    thread.start()
    try:
        yield
    finally:
        thread.join()
    if failed:
        raise SandboxUnavailableError(f"cannot put the command in its cgroups: {failed[0]}")


def _join(group: CommandCgroup, pid: int, failed: list[OSError]) -> None:
    try:
        group.join(pid)
    except OSError as exc:
        failed.append(exc)


def _set_rlimits(pid: int, group: CommandCgroup | None, limits: Limits) -> None:
    """The rlimits of the waiting bwrap, which everything it starts inherits (soft and hard):
    the file size, and the data size where no cgroup bounds memory. A setuid-root bwrap
    refuses them (EPERM): the command then never starts."""
    wanted = []
    if group is None and limits.memory_mb is not None:
        wanted.append((resource.RLIMIT_DATA, limits.memory_mb * 1024 * 1024))
    if limits.max_file_mb is not None:
        wanted.append((resource.RLIMIT_FSIZE, limits.max_file_mb * 1024 * 1024))
    try:
        for which, value in wanted:
            resource.prlimit(pid, which, (value, value))
    except PermissionError as exc:
        raise SandboxUnavailableError(
            f"cannot set the command's rlimits on bwrap ({exc}); a setuid bwrap is not "
            "supported: use one without the setuid bit, with user namespaces allowed"
        ) from exc


def _proxy_mounts(proxy: EgressProxy) -> list[Mount]:
    return [
        Mount(SOCKET_PATH, "mask", proxy.socket_path),
        Mount(FORWARDER_PATH, "mask", FORWARDER_SOURCE),
    ]


def proxy_mounts(sockets: Mapping[Path, Path]) -> list[Mount]:
    """The forwarder and each host socket (value) at its place inside (key)."""
    mounts = [Mount(inside, "mask", host) for inside, host in sockets.items()]
    return [*mounts, Mount(FORWARDER_PATH, "mask", FORWARDER_SOURCE)]


def find_python(plan: MountPlan, env: Mapping[str, str]) -> Path | None:
    """A python3 the sandbox sees, for the forwarder: the system's first (no version shims)."""
    candidates = [Path("/usr/bin/python3"), Path(sys.base_prefix) / "bin" / "python3"]
    for candidate in candidates:
        if candidate.is_file() and plan.visible(candidate.resolve()):
            return candidate
    return find_program("python3", env.get("PATH", ""), Path("/"), plan)


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


class _ArgsPipe:
    """bwrap's options, sent once they are known to a bwrap already started with
    `--args fd -- command` (it reads to the end of the pipe before it does anything). The
    command stays on bwrap's own command line: options read from a file end where the command
    starts, and bwrap takes at most 9000 arguments from one."""

    def __init__(self) -> None:
        self.fd, self._write = os.pipe()
        self._open = [self.fd, self._write]

    def __enter__(self) -> _ArgsPipe:
        return self

    def __exit__(self, *exc: object) -> None:
        for fd in self._open:
            with contextlib.suppress(OSError):
                os.close(fd)
        self._open.clear()

    def started(self) -> None:
        """The process that reads has its copy: a write now fails rather than blocks if it
        exits."""
        self._close(self.fd)

    def send(self, args: Sequence[str]) -> None:
        """Write the NUL-separated options and close: bwrap then starts the sandbox. If it
        is gone, its exit status and output say why."""
        data = memoryview(b"".join(os.fsencode(arg) + b"\0" for arg in args))
        with contextlib.suppress(BrokenPipeError):
            while data:
                data = data[os.write(self._write, data) :]
        self._close(self._write)

    def _close(self, fd: int) -> None:
        if fd in self._open:
            self._open.remove(fd)
            os.close(fd)


@contextlib.contextmanager
def _stopped_on_error(proc: subprocess.Popen[bytes]) -> Iterator[None]:
    """If the arguments cannot be made (a missing program, say), bwrap never gets them: it
    is killed with its process group before it could start a sandbox, and reaped."""
    try:
        yield
    except BaseException:
        kill_group(proc)
        with proc:
            proc.wait()
        raise


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
