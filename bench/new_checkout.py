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
    "maven": ("src/main/java/calc/Calc.java", "\n// edited\n"),
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


def verify(repo: Path, cache: Path, sandbox: str, src: str | None = None) -> tuple[float, bool]:
    env = dict(os.environ)
    if src:
        env["PYTHONPATH"] = src
    started = time.monotonic()
    proc = subprocess.run(
        [CORRAL, "verify", str(repo), "--json", "--sandbox", sandbox, "--cache-dir", str(cache)],
        capture_output=True,
        text=True,
        check=False,
        env=env,
    )
    return time.monotonic() - started, proc.returncode == 0


def edited_file(eco: str, repo: Path) -> Path | None:
    rel, _ = EDITS.get(eco, ("", ""))
    path = repo / rel
    if rel and path.is_file():
        return path
    sources = sorted(
        p for p in repo.rglob("*") if p.is_file() and ".git" not in p.parts and "test" not in p.name
    )
    return next((p for p in sources if p.suffix in (".py", ".js", ".ts", ".rs", ".go")), None)


def measure(eco: str, work: Path, sandbox: str, src: str | None = None) -> dict[str, float]:
    cache = work / "cache"
    source = origin(work / "origin", sample(eco).clean())
    a, b = work / "a", work / "b"

    def run(repo: Path) -> tuple[float, bool]:
        return verify(repo, cache, sandbox, src)

    git(work, "clone", "-q", str(source), str(a))
    cold, ok_cold = run(a)
    warm, ok_warm = run(a)
    git(work, "clone", "-q", str(source), str(b))
    new, ok_new = run(b)
    # the machine is shared: warm is the median of A's and B's re-verifies around B's first
    warm = statistics.median([warm, run(b)[0], run(a)[0]])
    target = edited_file(eco, b)
    edit = float("nan")
    if target is not None:
        with target.open("a") as handle:
            handle.write(EDITS.get(eco, ("", "\n"))[1] if eco in EDITS else "\n")
        edit, _ = run(b)
    label = f"{eco:7}" + (f" [{'base' if src else 'this'}]" if src is not None else "")
    print(
        f"{label} cold {cold:6.2f}s  warm {warm:6.2f}s  new checkout {new:6.2f}s "
        f"(x{new / warm:.2f} warm)  edit {edit:6.2f}s ({edit / cold:.2f} of cold)  "
        f"ok {ok_cold}/{ok_warm}/{ok_new}",
        flush=True,
    )
    return {"cold": cold, "warm": warm, "new": new, "edit": edit}


def summary(eco: str, label: str, rows: list[dict[str, float]]) -> None:
    med = {k: statistics.median(r[k] for r in rows) for k in rows[0]}
    print(
        f"{eco:7} {label} median of {len(rows)}: cold {med['cold']:.2f}s warm {med['warm']:.2f}s "
        f"new {med['new']:.2f}s (x{med['new'] / med['warm']:.2f} warm) edit {med['edit']:.2f}s "
        f"({med['edit'] / med['cold']:.2f} of cold)",
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
            summary(eco, "base", rows[args.compare])
            summary(eco, "this", rows[""])
    print(f"load average {os.getloadavg()[0]:.1f}", flush=True)


if __name__ == "__main__":
    main()
