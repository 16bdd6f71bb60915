"""A staged rollout through the real CLI: 20 repositories, a canary of 3 that mostly fails,
the campaign pausing by itself with no PR past the canary, resumed with a fixed spec to
finish the waves; then cancelled, which closes every open PR and deletes its branch."""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable
from pathlib import Path

from campaign_helpers import corral, jobs_of, remote_branches, runtime_args, write_spec

from corral.states import JobState, Reason
from corral.store import Store
from corral.testing.repos import make_remote, notes_repo

LEGACY = {**notes_repo(), "LEGACY": "this repository still uses the old layout\n"}
BROKEN = "test ! -f LEGACY && printf 'Release notes, reviewed.\\n' > NOTES.md"
"""The first try of the change: it gives up (exit 1) on the legacy repositories."""
FIXED = "printf 'Release notes, reviewed.\\n' > NOTES.md"
ROLLOUT = {"canary": 3, "waves": [10], "pause_if": {"failure_rate": 0.3, "after": 3}}


def _spec(path: Path, remotes: list[Path], command: str) -> Path:
    return write_spec(
        path,
        name="rollout",
        command=command,
        targets={"repos": [str(r) for r in remotes]},
        rollout=ROLLOUT,
        concurrency=4,
    )


def test_a_failing_canary_pauses_the_rollout_until_resumed_with_a_fix(
    new_store: Callable[[], str], tmp_path: Path, cache_dir: Path
) -> None:
    forge = tmp_path / "forge"
    # the canary is the first three listed: two of them are legacy repositories
    remotes = [
        make_remote(forge, f"svc-{n:02}", LEGACY if n in (1, 2) else notes_repo())
        for n in range(20)
    ]
    store_url = new_store()
    runtime = runtime_args(store_url, tmp_path / "work", cache_dir)

    first = corral("run", str(_spec(tmp_path / "spec.yaml", remotes, BROKEN)), *runtime)
    assert first.returncode == 1, first.stdout + first.stderr  # the canary failed
    assert "rollout paused: 2 of 3 settled jobs failed (67% > 30%)" in first.stdout
    jobs = jobs_of(store_url, "rollout")
    assert [j.state for j in jobs[:3]] == [JobState.PR_OPEN, JobState.FAILED, JobState.FAILED]
    assert {j.state for j in jobs[3:]} == {JobState.QUEUED}
    assert all(remote_branches(r) == ["main"] for r in remotes[1:])  # no PR past the canary

    fixed = _spec(tmp_path / "fixed.yaml", remotes, FIXED)
    resumed = corral("resume", "rollout", "--spec", str(fixed), "--json", *runtime)
    assert resumed.returncode == 1, resumed.stdout + resumed.stderr  # the canary's 2 failures
    summary = json.loads(resumed.stdout)
    assert summary["paused"] is None
    jobs = jobs_of(store_url, "rollout")
    assert [j.name for j in jobs if j.state == JobState.FAILED] == ["svc-01", "svc-02"]
    assert sum(j.state == JobState.PR_OPEN for j in jobs) == 18
    _assert_waves_in_order(store_url, canary=3, first_wave=10)

    retried = corral("retry", "rollout", "--failed", *runtime)
    assert retried.returncode == 0, retried.stdout + retried.stderr
    assert {j.state for j in jobs_of(store_url, "rollout")} == {JobState.PR_OPEN}

    cancelled = corral(
        "cancel", "rollout", "--delete-branches", "--by", "alice", "--store", store_url
    )
    assert cancelled.returncode == 0, cancelled.stdout + cancelled.stderr
    assert "20 pull request(s) closed" in cancelled.stdout
    ended = jobs_of(store_url, "rollout")
    assert {j.state for j in ended} == {JobState.CLOSED}
    assert {j.reason_code for j in ended} == {Reason.CANCELLED}
    assert all(remote_branches(r) == ["main"] for r in remotes)
    store = Store.open(store_url)
    try:
        record = store.campaign("rollout")
        assert record is not None and record.paused == "cancelled by alice"
        prs = store.pull_requests(record.id)
        assert {pr.state for pr in prs} == {"closed"} and len(prs) == 20
    finally:
        store.close()
    again = corral("resume", "rollout", *runtime)
    assert again.returncode == 2 and "cancelled" in again.stderr


def _assert_waves_in_order(store_url: str, *, canary: int, first_wave: int) -> None:
    """No job of a wave started before every job of the stage before it had settled."""
    store = Store.open(store_url)
    try:
        record = store.campaign("rollout")
        assert record is not None
        jobs = store.jobs(record.id)

        def started(job_id: int) -> object:
            return next(t.at for t in store.transitions(job_id) if t.to_state == "prepared")

        def settled(job_id: int) -> object:
            return next(
                t.at
                for t in store.transitions(job_id)
                if t.to_state in ("pr_open", "failed", "skipped")
            )

        stages = [jobs[:canary], jobs[canary:first_wave], jobs[first_wave:]]
        for before, after in itertools.pairwise(stages):
            last_settled = max(settled(j.id) for j in before)
            first_started = min(started(j.id) for j in after)
            assert first_started >= last_settled  # type: ignore[operator]
    finally:
        store.close()
