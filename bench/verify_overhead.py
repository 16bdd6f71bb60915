"""How much `corral verify` costs over running the same tools by hand, and how short its message is.

For each ecosystem sample (corral.testing.samples): prepare once (warm caches), then time
`corral verify --no-prepare` against the sample's RAW_COMMANDS run directly, the median of
--runs runs each, alternating (goal: ratio <= 1.10); beside it the same verify as a
library call in this process (`verify(..., prepare=False)`, what a campaign's worker pays
per gate run: no interpreter start or imports). RAW_COMMANDS are the checks corral
runs on the sample (it has no CI configuration: corral's conventions), run by hand. On the
failing variants, compare the size of the message an agent sees with the raw output of those
commands (goal: <= 5%).

    .venv/bin/python bench/verify_overhead.py [--runs 3] [--only go,python] [--compare CORRAL]
"""

from __future__ import annotations

import argparse
import os
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from corral.sandbox.local import LocalRunner
from corral.testing.samples import ECOSYSTEMS, sample
from corral.verifiers import verify
from corral.verifiers.base import cache_env

CORRAL = str(Path(sys.executable).with_name("corral"))
VARIANTS = ("compile_error", "failing_test", "lint_violation")


def write_repo(root: Path, files: dict[str, str]) -> Path:
    root.mkdir(parents=True)
    for rel, content in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(content)
    subprocess.run(["git", "init", "-q", str(root)], check=True)
    return root


def raw_env(cache_dir: Path) -> dict[str, str]:
    return {**os.environ, **cache_env(cache_dir)}


def run_raw(commands: list[list[str]], repo: Path, env: dict[str, str]) -> tuple[float, int]:
    """Seconds and bytes of output for the raw commands, run one after another."""
    started, size = time.monotonic(), 0
    for argv in commands:
        argv = [_expand(a, env) for a in argv]
        proc = subprocess.run(argv, cwd=repo, env=env, capture_output=True, check=False)
        size += len(proc.stdout) + len(proc.stderr)
    return time.monotonic() - started, size


def _expand(arg: str, env: dict[str, str]) -> str:
    """$NAME or ${NAME} from env, so RAW_COMMANDS can name cache paths (e.g. $MAVEN_REPO_LOCAL)."""
    return re.sub(r"\$\{?(\w+)\}?", lambda m: env.get(m.group(1), m.group(0)), arg)


def run_corral(repo: Path, cache_dir: Path, corral: str = CORRAL) -> float:
    started = time.monotonic()
    subprocess.run(
        [
            corral,
            "verify",
            str(repo),
            "--no-prepare",
            "--sandbox",
            "local",
            "--cache-dir",
            str(cache_dir),
        ],
        capture_output=True,
        check=False,
    )
    return time.monotonic() - started


def run_library(repo: Path, cache_dir: Path) -> float:
    started = time.monotonic()
    verify(repo, LocalRunner(cache_dir), prepare=False)
    return time.monotonic() - started


def measure(eco: str, workdir: Path, cache_dir: Path, runs: int, compare: str | None) -> None:
    module = sample(eco)
    env = raw_env(cache_dir)
    repo = write_repo(workdir / eco / "clean", module.clean())
    verify(repo, LocalRunner(cache_dir))  # prepare: warm caches and installed dependencies
    run_raw(module.RAW_COMMANDS, repo, env)  # warm the raw path's build outputs too
    sides: dict[str, list[tuple[float, float]]] = {
        "corral": [],
        "raw": [],
        "library": [],
        "compare": [],
    }
    for _ in range(runs):  # alternating: the machine's load changes under a long run
        sides["corral"].append(_with_cpu(lambda: run_corral(repo, cache_dir)))
        sides["library"].append(_with_cpu(lambda: run_library(repo, cache_dir)))
        sides["raw"].append(_with_cpu(lambda: run_raw(module.RAW_COMMANDS, repo, env)[0]))
        if compare is not None:
            sides["compare"].append(_with_cpu(lambda: run_corral(repo, cache_dir, compare)))
    wall = {k: statistics.median(t for t, _ in v) for k, v in sides.items() if v}
    cpu = {k: statistics.median(c for _, c in v) for k, v in sides.items() if v}
    line = (
        f"{eco:8} time  corral {wall['corral']:6.2f}s  raw {wall['raw']:6.2f}s  ratio "
        f"{wall['corral'] / wall['raw']:.2f}  | cpu {cpu['corral']:5.2f}s / {cpu['raw']:5.2f}s "
        f"ratio {cpu['corral'] / cpu['raw']:.2f}"
    )
    line += f"  | library {wall['library']:5.2f}s ratio {wall['library'] / wall['raw']:.2f}"
    if "compare" in wall:
        line += (
            f"  | --compare {wall['compare']:6.2f}s ratio {wall['compare'] / wall['raw']:.2f}, "
            f"cpu ratio {cpu['compare'] / cpu['raw']:.2f}"
        )
    print(f"{line}  load {os.getloadavg()[0]:.1f}", flush=True)
    for variant in VARIANTS:
        bad = write_repo(workdir / eco / variant, getattr(module, variant)())
        report = verify(bad, LocalRunner(cache_dir))
        _, raw_size = run_raw(module.RAW_COMMANDS, bad, env)
        share = len(report.message.encode()) / max(raw_size, 1)
        print(
            f"{eco:8} {variant:15} message {len(report.message.encode()):5} B  raw "
            f"{raw_size:7} B  ratio {share:.1%}  ok={report.ok}"
        )


def _with_cpu(run: Callable[[], float]) -> tuple[float, float]:
    """(wall seconds, CPU seconds of this process and the processes it ran): under a shared
    machine's load the CPU time says more than the wall time about what each side costs."""
    before = _cpu()
    wall = run()
    return wall, _cpu() - before


def _cpu() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--only", default=",".join(ECOSYSTEMS))
    parser.add_argument(
        "--cache-dir", type=Path, default=Path.home() / ".cache" / "corral" / "bench-caches"
    )
    parser.add_argument(
        "--compare",
        help="another corral executable (e.g. a wrapper running main's code) timed in turn",
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="corral-bench-") as tmp:
        for eco in args.only.split(","):
            measure(eco, Path(tmp), args.cache_dir, args.runs, args.compare)


if __name__ == "__main__":
    main()
