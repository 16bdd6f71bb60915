"""The command-runner interface every part uses to run untrusted commands."""

from __future__ import annotations

import os
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, Protocol

NetworkPolicy = Literal["none", "open"]
LimitHit = Literal["timeout", "memory", "processes", "output", "disk"]


@dataclass(frozen=True)
class Limits:
    """Bounds on one command. `None` means unbounded."""

    timeout_s: float = 900.0
    memory_mb: int | None = 8192
    max_processes: int | None = 4096
    max_output_bytes: int = 8_000_000
    """Bytes kept per stream; the middle of a longer stream is dropped."""
    max_file_mb: int | None = 4096
    """The largest file a command may write (RLIMIT_FSIZE): a bigger write fails."""
    disk_mb: int | None = 20480
    """What the job's writable folders (workspace, its caches, its HOME) may hold after a
    command; over it, the command is reported as `limit_hit="disk"`."""


@dataclass(frozen=True)
class CommandResult:
    argv: tuple[str, ...]
    exit_code: int
    stdout: str
    stderr: str
    duration_s: float
    limit_hit: LimitHit | None = None
    """Set when the command was stopped or cut by a limit rather than failing on its own."""
    truncated: bool = False

    @property
    def ok(self) -> bool:
        return self.exit_code == 0 and self.limit_hit is None

    @property
    def output(self) -> str:
        """stdout then stderr, for tools that mix them."""
        if self.stdout and self.stderr:
            return f"{self.stdout}\n{self.stderr}"
        return self.stdout or self.stderr


class ToolMissingError(RuntimeError):
    """The program to run does not exist where the command runs."""


class CommandRunner(Protocol):
    """Runs one command to completion. Implementations: local (no isolation), bwrap."""

    @property
    def cache_dir(self) -> Path:
        """Dependency caches (Maven, Go, cargo, npm, pip...) as the commands see them."""
        ...

    def for_workspace(self, workspace: Path) -> CommandRunner:
        """The same runner (caches, limits) confined to another workspace."""
        ...

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
        """Run argv in cwd (inside the workspace); `env` is added to the base environment.

        Raises ToolMissingError when argv[0] cannot be found.
        """
        ...


@dataclass
class OutputCap:
    """Keeps the head and tail of a stream within `limit` bytes."""

    limit: int
    head: bytearray = field(default_factory=bytearray)
    tail: bytearray = field(default_factory=bytearray)
    dropped: int = 0

    def feed(self, chunk: bytes) -> None:
        half = self.limit // 2
        room = half - len(self.head)
        if room > 0:
            self.head += chunk[:room]
            chunk = chunk[room:]
        if not chunk:
            return
        self.tail += chunk
        if len(self.tail) > self.limit - half:
            excess = len(self.tail) - (self.limit - half)
            self.dropped += excess
            del self.tail[:excess]

    def text(self) -> str:
        middle = f"\n[... {self.dropped} bytes cut ...]\n".encode() if self.dropped else b""
        return bytes(self.head + middle + self.tail).decode("utf-8", errors="replace")


def temporary_sibling(path: Path) -> Path:
    """Where to build `path` before a rename puts it in place: a hidden name beside it of this
    process and thread alone (a worker's jobs, and a check's side-by-side steps, may build the
    same path at the same moment)."""
    return path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}")


def write_inside(root: Path, path: Path, text: str) -> None:
    """Write `path`, a file in a folder sandboxed commands can write (their workspace or
    cache), from the host: never through a link they planted, never outside `root`.

    Raises OSError when the file's folder resolves outside `root`.
    """
    parent = path.parent.resolve()
    if not parent.is_relative_to(root.resolve()):
        raise OSError(f"{path.parent} leads outside {root}")
    target = parent / path.name
    if target.is_symlink() or (target.exists() and not target.is_file()):
        target.unlink()
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o644)
    with os.fdopen(fd, "w") as file:
        file.write(text)
