"""`corral run` as a user drives it: waiting for approvals while running."""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

from cli_helpers import corral, runtime_args, write_spec

from corral.states import JobState
from corral.store import Store
from corral.testing.cli import CORRAL
from corral.testing.repos import GIT_ENV, make_remote, notes_repo


def jobs_by_name(store_url: str, campaign: str) -> dict[str, JobState]:
    store = Store.open(store_url)
    try:
        record = store.campaign(campaign)
        return {} if record is None else {j.name: j.state for j in store.jobs(record.id)}
    finally:
        store.close()


def wait_for_states(store_url: str, campaign: str, expected: dict[str, JobState]) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if jobs_by_name(store_url, campaign) == expected:
            return
        time.sleep(0.2)
    raise AssertionError(f"never {expected}: {jobs_by_name(store_url, campaign)}")


def test_run_wait_takes_decisions_made_while_it_runs(tmp_path: Path) -> None:
    forge = tmp_path / "forge"
    remotes = [make_remote(forge, name, notes_repo()) for name in ("docs-a", "docs-b")]
    spec = write_spec(
        tmp_path / "spec.yaml",
        name="held",
        command="echo Reviewed. >> NOTES.md",
        targets={"repos": [str(r) for r in remotes]},
        approval="each",
    )
    store_url = str(tmp_path / "corral.db")
    waiting = subprocess.Popen(
        [CORRAL, "run", str(spec), "--wait", *runtime_args(tmp_path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, **GIT_ENV, "COLUMNS": "200"},
    )
    try:
        held = JobState.AWAITING_APPROVAL
        wait_for_states(store_url, "held", {"docs-a": held, "docs-b": held})
        assert waiting.poll() is None, "corral run --wait returned while jobs wait"

        assert corral("approve", "1", "--store", store_url, "--by", "ana").returncode == 0
        assert corral("reject", "2", "--reason", "not now", "--store", store_url).returncode == 0
        stdout, stderr = waiting.communicate(timeout=120)
    finally:
        waiting.kill()

    assert waiting.returncode == 1, stderr  # one repository ended without a PR
    assert jobs_by_name(store_url, "held") == {
        "docs-a": JobState.PR_OPEN,
        "docs-b": JobState.FAILED,
    }
    assert f"{remotes[0]}#pr-1" in stdout
    assert "not now" in stdout
