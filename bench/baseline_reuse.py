"""What a gate's baseline costs the first time and the next: the base checkout is kept in
the cache at a stable path, so its venv (keyed by path) and other caches are reused.

    .venv/bin/python bench/baseline_reuse.py [--ecosystem python|node|cargo|go] [--runs 3]
                                             [--sandbox local|bwrap] [--cache-dir DIR]

Builds the tiny sample repository of that ecosystem in a scratch folder with a change on
top, then times `verify_path(..., baseline_ref="HEAD")` with a fresh cache folder: run 1 is
cold (the base's environment built), the runs after it are warm. Prints each run's seconds
and the cold/warm ratio.
"""

from __future__ import annotations

import argparse
import importlib
import statistics
import tempfile
import time
from pathlib import Path

from corral.sandbox.base import CommandRunner
from corral.sandbox.bwrap import BwrapRunner
from corral.sandbox.local import LocalRunner
from corral.testing.repos import init_repo, write_files
from corral.verifiers import verify_path


def _runner(kind: str, workspace: Path, cache: Path) -> CommandRunner:
    return BwrapRunner(workspace, cache) if kind == "bwrap" else LocalRunner(cache)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ecosystem", default="python", choices=["python", "node", "cargo", "go"])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--sandbox", default="local", choices=["local", "bwrap"])
    parser.add_argument(
        "--cache-dir", type=Path, help="a warm dependency cache (default: a fresh one)"
    )
    args = parser.parse_args()
    sample = importlib.import_module(f"corral.testing.samples.{args.ecosystem}")
    with tempfile.TemporaryDirectory(prefix="corral-bench-baseline-") as tmp:
        root, cache = Path(tmp) / "repo", args.cache_dir or Path(tmp) / "cache"
        cache.mkdir(exist_ok=True)
        init_repo(root, sample.clean())
        write_files(root, sample.failing_test())
        runner = _runner(args.sandbox, root, cache)
        seconds = []
        for run in range(1, args.runs + 1):
            started = time.monotonic()
            report = verify_path(root, runner, baseline_ref="HEAD")
            seconds.append(time.monotonic() - started)
            new = sum(len(r.new_findings) for r in report.results)
            print(f"run {run}: {seconds[-1]:6.1f} s  ({new} new finding(s), ok={report.ok})")
        warm = statistics.median(seconds[1:]) if len(seconds) > 1 else seconds[0]
        print(
            f"{args.ecosystem}: cold {seconds[0]:.1f} s, warm {warm:.1f} s, "
            f"cold/warm {seconds[0] / warm:.1f}x"
        )


if __name__ == "__main__":
    main()
