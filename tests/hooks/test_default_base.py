"""`corral hook claude-stop` with no options, in a checkout with an upstream: it judges the
work since the fork from the upstream, and says so."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from test_claude_stop import run_hook, stop_input

from corral.gate.diff import default_base
from corral.testing.repos import git, init_repo, make_remote, write_files
from corral.testing.samples import sample
from surface_helpers import failing_change, passing_change


def clone_with_upstream(tmp_path: Path) -> Path:
    remote = make_remote(tmp_path / "forge", "calc", sample("go").clean())
    checkout = tmp_path / "checkout"
    subprocess.run(["git", "clone", "-q", str(remote), str(checkout)], check=True)
    git(checkout, "switch", "-q", "-c", "fix", "--track", "origin/main")
    return checkout


def test_the_default_base_is_the_fork_from_the_upstream(tmp_path: Path) -> None:
    checkout = clone_with_upstream(tmp_path)
    fork = git(checkout, "rev-parse", "HEAD").strip()
    write_files(checkout, {"NOTES.md": "x\n"})
    git(checkout, "add", "-A")
    git(checkout, "commit", "-qm", "work")
    chosen = default_base(checkout)
    assert chosen.ref == fork
    assert chosen.why.startswith("origin/main (the branch's upstream), from commit ")
    lonely = init_repo(tmp_path / "lonely", {"a.txt": "a\n"})
    assert default_base(lonely).ref == "HEAD"


def test_the_hook_works_with_no_options_and_says_its_base(tmp_path: Path, cache_dir: Path) -> None:
    checkout = clone_with_upstream(tmp_path)
    write_files(checkout, failing_change())
    options = ["--sandbox", "local", "--cache-dir", str(cache_dir)]
    blocked = run_hook(stop_input(checkout), *options)
    assert blocked.returncode == 0, blocked.stderr
    assert json.loads(blocked.stdout)["decision"] == "block"
    assert "calc/calc_test.go:11" in json.loads(blocked.stdout)["reason"]
    said = " ".join(blocked.stderr.split())
    assert "judging the working tree against origin/main (the branch's upstream)" in said
    write_files(checkout, passing_change())
    allowed = run_hook(stop_input(checkout, active=True), *options)
    assert (allowed.returncode, allowed.stdout) == (0, "")
    assert "Traceback" not in blocked.stderr + allowed.stderr
