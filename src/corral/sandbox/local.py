"""The `local` backend: no isolation. For development only; it must be asked for by name."""

from __future__ import annotations

import contextlib
import os
import selectors
import shutil
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path

from corral.sandbox.base import (
    CommandResult,
    LimitHit,
    Limits,
    NetworkPolicy,
    OutputCap,
    ToolMissingError,
)


class LocalRunner:
    """Runs commands directly on the host, in their own process group."""

    def __init__(self, cache_dir: Path, base_env: Mapping[str, str] | None = None) -> None:
        self._cache_dir = cache_dir
        self._base_env = dict(os.environ if base_env is None else base_env)

    @property
    def cache_dir(self) -> Path:
        return self._cache_dir

    def for_workspace(self, workspace: Path) -> LocalRunner:
        return self

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
        full_env = {**self._base_env, **(env or {})}
        if shutil.which(argv[0], path=full_env.get("PATH")) is None and not Path(argv[0]).is_file():
            raise ToolMissingError(argv[0])
        return run_process(
            list(argv), cwd=cwd, env=full_env, limits=limits or Limits(), stdin=stdin
        )


def run_process(
    argv: list[str],
    *,
    cwd: Path,
    env: Mapping[str, str],
    limits: Limits,
    stdin: str | None = None,
    kill: Callable[[subprocess.Popen[bytes]], None] | None = None,
    pass_fds: Sequence[int] = (),
    watch: Callable[[], LimitHit | None] | None = None,
) -> CommandResult:
    """Run argv with a wall-time limit that kills the whole process group, capping output.

    `kill` replaces the default kill of the process group when the time is up; `watch`,
    called about once a second while it runs, stops it (with `kill`) when it names a limit.
    """
    proc = start_process(argv, cwd=cwd, env=env, stdin=stdin is not None, pass_fds=pass_fds)
    return finish_process(proc, argv, limits=limits, stdin=stdin, kill=kill, watch=watch)


def start_process(
    argv: Sequence[str],
    *,
    cwd: Path,
    env: Mapping[str, str],
    stdin: bool,
    pass_fds: Sequence[int] = (),
) -> subprocess.Popen[bytes]:
    """The first half of `run_process`: the process, in a session of its own, with its output
    (and its input if `stdin`) piped; `finish_process` feeds and pumps it."""
    return subprocess.Popen(
        argv,
        cwd=cwd,
        env=dict(env),
        stdin=subprocess.PIPE if stdin else subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
        pass_fds=pass_fds,
    )


def finish_process(
    proc: subprocess.Popen[bytes],
    argv: Sequence[str],
    *,
    limits: Limits,
    stdin: str | None = None,
    kill: Callable[[subprocess.Popen[bytes]], None] | None = None,
    watch: Callable[[], LimitHit | None] | None = None,
) -> CommandResult:
    """The second half of `run_process`; the time limit counts from here."""
    started = time.monotonic()
    with _running(proc):
        if stdin is not None and proc.stdin is not None:
            try:
                proc.stdin.write(stdin.encode())
                proc.stdin.close()
            except BrokenPipeError:
                pass
        out, err = OutputCap(limits.max_output_bytes), OutputCap(limits.max_output_bytes)
        deadline = started + limits.timeout_s
        limit_hit = _pump(proc, out, err, deadline, kill or kill_group, watch or _no_watch)
        exit_code = proc.wait()
    return CommandResult(
        argv=tuple(argv),
        exit_code=exit_code,
        stdout=out.text(),
        stderr=err.text(),
        duration_s=time.monotonic() - started,
        limit_hit=limit_hit,
        truncated=bool(out.dropped or err.dropped),
    )


def _pump(
    proc: subprocess.Popen[bytes],
    out: OutputCap,
    err: OutputCap,
    deadline: float,
    kill: Callable[[subprocess.Popen[bytes]], None],
    watch: Callable[[], LimitHit | None],
) -> LimitHit | None:
    assert proc.stdout is not None and proc.stderr is not None
    next_watch = time.monotonic() + 1.0
    sel = selectors.DefaultSelector()
    sel.register(proc.stdout, selectors.EVENT_READ, out)
    sel.register(proc.stderr, selectors.EVENT_READ, err)
    while sel.get_map():
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            kill(proc)
            sel.close()
            return "timeout"
        if time.monotonic() >= next_watch:
            next_watch = time.monotonic() + 1.0
            hit = watch()
            if hit is not None:
                kill(proc)
                sel.close()
                return hit
        for key, _ in sel.select(timeout=min(remaining, 1.0)):
            chunk = os.read(key.fd, 65536)
            if not chunk:
                sel.unregister(key.fileobj)
                continue
            cap: OutputCap = key.data
            cap.feed(chunk)
    sel.close()
    return None


def _no_watch() -> LimitHit | None:
    return None


_RUNNING: set[subprocess.Popen[bytes]] = set()
_RUNNING_LOCK = threading.Lock()


@contextlib.contextmanager
def _running(proc: subprocess.Popen[bytes]) -> Iterator[None]:
    with _RUNNING_LOCK:
        _RUNNING.add(proc)
    try:
        yield
    finally:
        with _RUNNING_LOCK:
            _RUNNING.discard(proc)


def kill_running() -> None:
    """Kill every command this process is running, with their process groups: for a process
    about to exit at once (interrupted), whose commands run in sessions of their own and would
    otherwise outlive it."""
    with _RUNNING_LOCK:
        running = list(_RUNNING)
    for proc in running:
        kill_group(proc)


def kill_group(proc: subprocess.Popen[bytes]) -> None:
    """SIGKILL the process group, so grandchildren die too."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
