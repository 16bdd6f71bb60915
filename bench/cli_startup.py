"""corral's fixed cost per call: `corral --help`, `corral verify --help`, `corral verify` on a
folder with nothing to verify, and `corral status CAMPAIGN --json` on a campaign of --jobs
jobs, as whole processes (CPU and wall seconds, median of --runs), beside the interpreter's
own start (`python -c pass`). Goals: <= 0.15 s for the first three, < 1 s for status.

    .venv/bin/python bench/cli_startup.py [--runs 7] [--jobs 10000] [--against OTHER/src]

With --against, each command runs also with OTHER/src first on PYTHONPATH (another checkout
of corral, e.g. a worktree of main, using this venv's packages), the two in turn, and the
ratio this/other of the medians is printed: both sides measured in one run.
"""

from __future__ import annotations

import argparse
import compileall
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from store_scale import CAMPAIGN, fill

from corral.store import Store
from corral.testing.cli import CORRAL


def timed(argv: list[str], env: dict[str, str]) -> tuple[float, float]:
    """CPU (user + system) and wall seconds of one run, output thrown away."""
    started = time.perf_counter()
    process = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, _, usage = os.wait4(process.pid, 0)
    return usage.ru_utime + usage.ru_stime, time.perf_counter() - started


def compile_sources(src: Path) -> None:
    """Bytecode for a side's modules, as an installed corral has: an editable install has none
    and PYTHONDONTWRITEBYTECODE (set on these machines) would recompile them on every call."""
    compileall.compile_dir(src, quiet=1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--jobs", type=int, default=10_000)
    parser.add_argument("--against", type=Path, help="another checkout's src folder")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="corral-startup-"))
    (folder / "empty").mkdir()
    store_url = str(folder / "corral.db")
    store = Store.open(store_url)
    fill(store, args.jobs, args.jobs)
    store.close()
    calls = {
        "python -c pass": [sys.executable, "-c", "pass"],
        "corral --help": [CORRAL, "--help"],
        "corral verify --help": [CORRAL, "verify", "--help"],
        "corral verify EMPTY": [CORRAL, "verify", str(folder / "empty"), "--sandbox", "local"],
        f"corral status ({args.jobs} jobs) --json": [
            CORRAL,
            "status",
            CAMPAIGN,
            "--store",
            store_url,
            "--json",
        ],
    }
    sides = {"this": dict(os.environ)}
    compile_sources(Path(__file__).parent.parent / "src")
    if args.against:
        compile_sources(args.against)
        sides["other"] = {**os.environ, "PYTHONPATH": str(args.against.resolve())}
    print(f"load average {os.getloadavg()[0]:.2f}; CPU and wall seconds, median of {args.runs}")
    for name, argv in calls.items():
        runs: dict[str, list[tuple[float, float]]] = {side: [] for side in sides}
        for _ in range(args.runs + 1):  # the first round warms caches and is not counted
            for side, env in sides.items():
                runs[side].append(timed(argv, env))
        cells = []
        for side, measured in runs.items():
            cpu = statistics.median(c for c, _ in measured[1:])
            wall = statistics.median(w for _, w in measured[1:])
            cells.append(f"{side} cpu {cpu:.3f} wall {wall:.3f}")
        if args.against:
            ratio = statistics.median(
                a[0] / b[0] for a, b in zip(runs["this"][1:], runs["other"][1:], strict=True)
            )
            cells.append(f"this/other cpu x{ratio:.2f}")
        print(f"{name:36} " + "; ".join(cells), flush=True)
    print(f"load average {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
