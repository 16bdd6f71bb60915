"""A campaign run again after its targets moved: jobs are identified by URL and workspace,
and the run says what changed and what it does about it."""

from __future__ import annotations

import json
from pathlib import Path

from cli_helpers import corral, runtime_args, write_spec

from corral.testing.repos import make_remote, notes_repo


def test_moved_targets_get_new_jobs_and_removed_ones_are_left_alone(tmp_path: Path) -> None:
    old = make_remote(tmp_path / "old-forge", "docs", notes_repo())
    new = make_remote(tmp_path / "new-forge", "docs", notes_repo())
    spec = tmp_path / "spec.yaml"
    fields = {"name": "moved", "command": "echo More. >> NOTES.md"}
    write_spec(spec, **fields, targets=[str(old)])
    first = corral("run", str(spec), *runtime_args(tmp_path))
    assert first.returncode == 0, first.stderr

    write_spec(spec, **fields, targets=[str(new)])
    again = corral("run", str(spec), *runtime_args(tmp_path), "--json")
    assert again.returncode == 0, again.stderr
    said = " ".join(again.stderr.split())
    assert f"spec: new target docs ({new}): a new job" in said
    assert f"spec: target docs ({old}) was removed: its job and PR are left as they are" in said
    assert "Traceback" not in again.stderr

    status = corral("status", "moved", "--store", str(tmp_path / "corral.db"), "--json")
    prs = {job["repo"]: job["pull_request"] for job in json.loads(status.stdout)["jobs"]}
    assert set(prs) == {"docs", "docs (2)"}, "the moved target is a job of its own"
    assert prs["docs"].startswith(str(old)), "the old job keeps its PR"
    assert prs["docs (2)"].startswith(str(new)), "the new target was worked, its own PR"
