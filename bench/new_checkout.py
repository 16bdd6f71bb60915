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


def verify(repo: Path, cache: Path, sandbox: str) -> tuple[float, bool]:
    started = time.monotonic()
    proc = subprocess.run(
        [CORRAL, "verify", str(repo), "--json", "--sandbox", sandbox, "--cache-dir", str(cache)],
        capture_output=True,
        text=True,
        check=False,
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


def measure(eco: str, work: Path, sandbox: str) -> None:
    cache = work / "cache"
    source = origin(work / "origin", sample(eco).clean())
    a, b = work / "a", work / "b"
    git(work, "clone", "-q", str(source), str(a))
    cold, ok_cold = verify(a, cache, sandbox)
    warm, ok_warm = verify(a, cache, sandbox)
    git(work, "clone", "-q", str(source), str(b))
    new, ok_new = verify(b, cache, sandbox)
    # the machine is shared: warm is the median of A's and B's re-verifies around B's first
    warm = statistics.median([warm, verify(b, cache, sandbox)[0], verify(a, cache, sandbox)[0]])
    target = edited_file(eco, b)
    edit = float("nan")
    if target is not None:
        with target.open("a") as handle:
            handle.write(EDITS.get(eco, ("", "\n"))[1] if eco in EDITS else "\n")
        edit, _ = verify(b, cache, sandbox)
    print(
        f"{eco:7} cold {cold:6.2f}s  warm {warm:6.2f}s  new checkout {new:6.2f}s "
        f"(x{new / warm:.2f} warm)  edit {edit:6.2f}s ({edit / cold:.2f} of cold)  "
        f"ok {ok_cold}/{ok_warm}/{ok_new}",
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", default="python,node,cargo,go")
    parser.add_argument("--sandbox", default="bwrap", choices=("bwrap", "local"))
    args = parser.parse_args()
    print(f"load average {os.getloadavg()[0]:.1f}", flush=True)
    for eco in args.only.split(","):
        if eco not in ECOSYSTEMS:
            raise SystemExit(f"no sample for {eco}")
        with tempfile.TemporaryDirectory(prefix=f"corral-new-{eco}-") as tmp:
            measure(eco, Path(tmp), args.sandbox)


if __name__ == "__main__":
    main()
