"""What a new checkout costs when its repository's dependencies are already cached, and what a
re-verify after a one-line edit costs against a cold verify.

For each ecosystem sample (corral.testing.samples), in one run and one fresh cache root:
an origin repository; clone A is verified cold (prepare included: venv, node_modules, build);
A again (warm re-verify); clone B, a new checkout of the same origin at another path, the way
every campaign job starts (goal: <= 1.2x warm, with no install); then a one-line edit in B
and a re-verify (goal: edit / cold <= 0.25). Every verify is `corral verify` with prepare, in
the sandbox given (bwrap by default, as campaigns run it). Also says which installers ran
for B (none expected when the cache serves it).

    .venv/bin/python bench/new_checkout.py [--only python,node,cargo,go] [--sandbox bwrap]
        [--compare /path/to/other/src --rounds 3]

`--compare` alternates, round by round, this corral with the one whose `src` folder is given
(another worktree, e.g. main: its code is put first on PYTHONPATH), each in a fresh cache, and
prints the medians of both side by side.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from corral.testing.samples import ECOSYSTEMS, sample

CORRAL = str(Path(sys.executable).with_name("corral"))
EDITS = {
    "python": ("src/calc/__init__.py", "\n# edited\n"),
    "node": ("src/math.js", "\n// edited\n"),
    "cargo": ("src/lib.rs", "\n// edited\n"),
    "go": ("calc/calc.go", "\n// edited\n"),
    "maven": ("src/main/java/com/example/calc/Calculator.java", "\n// edited\n"),
}


def git(cwd: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True)


def origin(root: Path, files: dict[str, str]) -> Path:
    for rel, content in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(content)
    git(root.parent, "init", "-q", "-b", "main", str(root))
    git(root, "add", "-A")
    git(root, "-c", "user.name=b", "-c", "user.email=b@b", "commit", "-q", "-m", "sample")
    return root


CPU: dict[str, float] = {}
"""The CPU seconds of the last verify of each checkout (its processes and theirs): steadier
than wall time on a loaded machine. Only with `--sandbox local`: bwrap's processes are not
counted as corral's children."""


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def verify(repo: Path, cache: Path, sandbox: str, src: str | None = None) -> tuple[float, bool]:
    env = dict(os.environ)
    if src:
        env["PYTHONPATH"] = src
    cpu = children_cpu()
    started = time.monotonic()
    proc = subprocess.run(
        [CORRAL, "verify", str(repo), "--json", "--sandbox", sandbox, "--cache-dir", str(cache)],
        capture_output=True,
        text=True,
        check=False,
        env=env,
    )
    CPU[str(repo)] = children_cpu() - cpu
    return time.monotonic() - started, proc.returncode == 0


def edited_file(eco: str, repo: Path) -> Path | None:
    rel, _ = EDITS.get(eco, ("", ""))
    path = repo / rel
    if rel and path.is_file():
        return path
    sources = sorted(
        p for p in repo.rglob("*") if p.is_file() and ".git" not in p.parts and "test" not in p.name
    )
    return next(
        (p for p in sources if p.suffix in (".py", ".js", ".ts", ".rs", ".go", ".java")), None
    )


def measure(eco: str, work: Path, sandbox: str, src: str | None = None) -> dict[str, float]:
    cache = work / "cache"
    source = origin(work / "origin", sample(eco).clean())
    a, b = work / "a", work / "b"

    def run(repo: Path) -> tuple[float, bool]:
        return verify(repo, cache, sandbox, src)

    git(work, "clone", "-q", str(source), str(a))
    cold, ok_cold = run(a)
    cpu = {"cold": CPU[str(a)]}
    warm, ok_warm = run(a)
    warms = [warm]
    cpu_warms = [CPU[str(a)]]
    git(work, "clone", "-q", str(source), str(b))
    new, ok_new = run(b)
    cpu["new"] = CPU[str(b)]
    # the machine is shared: warm is the median of A's and B's re-verifies around B's first
    for repo in (b, a):
        warms.append(run(repo)[0])
        cpu_warms.append(CPU[str(repo)])
    warm, cpu["warm"] = statistics.median(warms), statistics.median(cpu_warms)
    target = edited_file(eco, b)
    edit = cpu["edit"] = float("nan")
    if target is not None:
        with target.open("a") as handle:
            handle.write(EDITS.get(eco, ("", "\n"))[1] if eco in EDITS else "\n")
        edit, _ = run(b)
        cpu["edit"] = CPU[str(b)]
    label = f"{eco:7}" + (f" [{'base' if src else 'this'}]" if src is not None else "")
    print(
        f"{label} cold {cold:6.2f}s  warm {warm:6.2f}s  new checkout {new:6.2f}s "
        f"(x{new / warm:.2f} warm)  edit {edit:6.2f}s ({edit / cold:.2f} of cold)  "
        f"ok {ok_cold}/{ok_warm}/{ok_new}"
        + (
            f"\n{'':{len(label)}} CPU: cold {cpu['cold']:.2f}s warm {cpu['warm']:.2f}s "
            f"new {cpu['new']:.2f}s (x{cpu['new'] / cpu['warm']:.2f}) "
            f"edit {cpu['edit']:.2f}s ({cpu['edit'] / cpu['cold']:.2f} of cold)"
            if sandbox == "local"
            else ""
        ),
        flush=True,
    )
    return {
        "cold": cold,
        "warm": warm,
        "new": new,
        "edit": edit,
        **{f"cpu {k}": v for k, v in cpu.items()},
    }


def summary(eco: str, label: str, rows: list[dict[str, float]], local: bool) -> None:
    """Medians of each round's own ratios (rounds differ in load more than the sides do)."""

    def med(key: str) -> float:
        return statistics.median(r[key] for r in rows)

    def ratio(top: str, bottom: str) -> float:
        return statistics.median(r[top] / r[bottom] for r in rows)

    cpu = f" (CPU x{ratio('cpu new', 'cpu warm'):.2f})" if local else ""
    cpu_edit = f" (CPU {ratio('cpu edit', 'cpu cold'):.2f})" if local else ""
    print(
        f"{eco:7} {label} medians of {len(rows)}: new checkout x{ratio('new', 'warm'):.2f} warm"
        f"{cpu}, edit {ratio('edit', 'cold'):.2f} of cold{cpu_edit}; wall cold "
        f"{med('cold'):.2f}s warm {med('warm'):.2f}s new {med('new'):.2f}s edit {med('edit'):.2f}s",
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", default="python,node,cargo,go")
    parser.add_argument("--sandbox", default="bwrap", choices=("bwrap", "local"))
    parser.add_argument("--compare", help="another corral's src folder, run alternately")
    parser.add_argument("--rounds", type=int, default=1)
    args = parser.parse_args()
    print(f"load average {os.getloadavg()[0]:.1f}", flush=True)
    # "" is this corral (PYTHONPATH left empty), a path the other one
    sides = ["", args.compare] if args.compare else [None]
    for eco in args.only.split(","):
        if eco not in ECOSYSTEMS:
            raise SystemExit(f"no sample for {eco}")
        rows: dict[str | None, list[dict[str, float]]] = {side: [] for side in sides}
        for round_ in range(args.rounds):
            for side in sides if round_ % 2 == 0 else sides[::-1]:
                with tempfile.TemporaryDirectory(prefix=f"corral-new-{eco}-") as tmp:
                    rows[side].append(measure(eco, Path(tmp), args.sandbox, side))
        if args.compare:
            summary(eco, "base", rows[args.compare], args.sandbox == "local")
            summary(eco, "this", rows[""], args.sandbox == "local")
    print(f"load average {os.getloadavg()[0]:.1f}", flush=True)


if __name__ == "__main__":
    main()
