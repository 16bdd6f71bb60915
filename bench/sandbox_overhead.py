"""What the bubblewrap sandbox adds: to one trivial command, and to a warm `corral verify`.

1. `true` through LocalRunner against BwrapRunner (default limits, so the per-command cgroups
   are included), median of --runs runs each, and the mean CPU time per command (corral's
   and the sandbox's processes, from a cpuacct cgroup where the bench can make one); goal
   (issue 17): at most 15 ms added. Printed for the sandbox as it is (system folders only,
   unprivileged uid, git metadata and the caches' tool configuration read-only, the HOME's
   removed), for the same without those pieces (the whole host read-only, no masks), and for
   a prepare step (network "open": the egress proxy and the forwarder). To compare with
   another checkout, run this file with PYTHONPATH=<that checkout>/src, alternating.
2. `corral verify --no-prepare` on the Go sample, `--sandbox local` against `--sandbox bwrap`,
   after one prepared run of each (warm caches), median of --verify-runs runs; printed as a
   ratio.

    .venv/bin/python bench/sandbox_overhead.py [--runs 50] [--verify-runs 5 (0: skip part 2)]
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from unittest import mock

from corral.sandbox import BwrapRunner, LocalRunner, bwrap
from corral.sandbox.base import CommandRunner, NetworkPolicy
from corral.testing.samples import sample

CORRAL = str(Path(sys.executable).with_name("corral"))


def median_seconds(action: Callable[[], object], runs: int) -> float:
    times = []
    for _ in range(runs):
        started = time.monotonic()
        action()
        times.append(time.monotonic() - started)
    return statistics.median(times)


@contextlib.contextmanager
def without_new_pieces() -> Iterator[None]:
    """The sandbox before issue 13: the host's whole filesystem read-only, nothing masked."""
    with (
        mock.patch.object(bwrap, "_system_mounts", lambda: (bwrap.Mount(Path("/"), "ro-bind"),)),
        mock.patch.object(bwrap, "_prepare_masks", lambda *args: []),
        mock.patch.object(bwrap, "_git_metadata_mounts", lambda workspace: []),
        mock.patch.object(bwrap.BwrapRunner, "_identity_mounts", lambda self: []),
    ):
        yield


def cpu_seconds() -> float:
    """CPU time of this process and of everything it started: load inflates wall times, much
    less this. From a cpuacct cgroup of the bench's own where it can make one: bwrap leaves its
    sandbox's init (which makes every mount) to be killed and reaped by someone else, so the
    rusage of waited-for children misses the mounts; a cgroup counts them."""
    if _ACCOUNTING is not None:
        return int((_ACCOUNTING / "cpuacct.usage").read_text()) / 1e9
    own, children = (
        resource.getrusage(resource.RUSAGE_SELF),
        resource.getrusage(resource.RUSAGE_CHILDREN),
    )
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


_ACCOUNTING: Path | None = None


@contextlib.contextmanager
def cpu_accounting() -> Iterator[str]:
    """Moves this process into a cpuacct cgroup of its own (cgroup v1, root); says which
    CPU figure the bench prints."""
    global _ACCOUNTING
    try:
        parent = next(
            Path("/sys/fs/cgroup/cpuacct") / line.split(":", 2)[2].lstrip("/")
            for line in Path("/proc/self/cgroup").read_text().splitlines()
            if "cpuacct" in line.split(":")[1].split(",")
        )
        group = parent / f"corral-bench-{os.getpid()}"
        group.mkdir()
        (group / "cgroup.procs").write_text(str(os.getpid()))
    except (OSError, StopIteration):
        yield "rusage: misses bwrap's sandbox init"
        return
    _ACCOUNTING = group
    try:
        yield "cpuacct"
    finally:
        _ACCOUNTING = None
        (parent / "cgroup.procs").write_text(str(os.getpid()))
        with contextlib.suppress(OSError):
            group.rmdir()


def time_true(
    runner: CommandRunner, cwd: Path, runs: int, network: NetworkPolicy = "none"
) -> tuple[float, float]:
    """The median wall time of `true` and its mean CPU time, in seconds."""

    def once() -> None:
        result = runner.run(["true"], cwd=cwd, network=network)
        if not result.ok:
            raise SystemExit(f"`true` failed: {result.output}")

    once()
    started = cpu_seconds()
    wall = median_seconds(once, runs)
    return wall, (cpu_seconds() - started) / runs


def write_repo(root: Path, files: dict[str, str]) -> Path:
    for rel, content in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(content)
    subprocess.run(["git", "init", "-q", str(root)], check=True)
    return root


def corral_verify(repo: Path, cache_dir: Path, sandbox: str, prepare: bool) -> None:
    argv = [CORRAL, "verify", str(repo), "--sandbox", sandbox, "--cache-dir", str(cache_dir)]
    done = subprocess.run([*argv, *([] if prepare else ["--no-prepare"])], capture_output=True)
    if done.returncode != 0:
        raise SystemExit(f"corral verify --sandbox {sandbox} failed:\n{done.stdout.decode()}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--verify-runs", type=int, default=5)
    parser.add_argument(
        "--cache-dir", type=Path, default=Path.home() / ".cache" / "corral" / "bench-caches"
    )
    args = parser.parse_args()
    with (
        cpu_accounting() as cpu_source,
        tempfile.TemporaryDirectory(prefix="corral-bench-sandbox-") as tmp,
    ):
        work = Path(tmp)
        subprocess.run(["git", "init", "-q", str(work)], check=True)
        local = time_true(LocalRunner(args.cache_dir), work, args.runs)
        runner = BwrapRunner(work, args.cache_dir, home_root=work / "homes")
        with without_new_pieces():
            before = time_true(runner, work, args.runs)
        variants = {
            "bwrap, without the issue-13 pieces": before,
            "bwrap": time_true(runner, work, args.runs),
            "bwrap, prepare (egress proxy)": time_true(runner, work, args.runs, "open"),
        }
        print(
            f"load average {os.getloadavg()[0]:.1f} (wall times grow with it; CPU less); "
            f"CPU from {cpu_source}"
        )
        for name, (seconds, cpu) in variants.items():
            print(
                f"true  local {local[0] * 1000:6.1f} ms  {name:36} {seconds * 1000:6.1f} ms  "
                f"added {(seconds - local[0]) * 1000:5.1f} ms  "
                f"CPU {cpu * 1000:5.1f} ms (local {local[1] * 1000:4.1f})"
            )
        if args.verify_runs == 0:
            return
        repo = write_repo(work / "go", sample("go").clean())
        times = {}
        for sandbox in ("local", "bwrap"):
            corral_verify(repo, args.cache_dir, sandbox, prepare=True)
            warm = functools.partial(corral_verify, repo, args.cache_dir, sandbox, prepare=False)
            times[sandbox] = median_seconds(warm, args.verify_runs)
        print(
            f"verify go local {times['local']:6.2f} s   bwrap {times['bwrap']:6.2f} s   "
            f"ratio {times['bwrap'] / times['local']:.2f}"
        )


if __name__ == "__main__":
    main()
