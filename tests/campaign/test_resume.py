"""Crashes and people: `corral run` killed mid-campaign and run again; an approval policy
holding jobs; a repository that does not clone; the campaign budget. On SQLite and
PostgreSQL."""

from __future__ import annotations

import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

from campaign_helpers import (
    CONTRIBUTING,
    assert_a_approved_b_rejected,
    assert_held,
    assert_one_pr_each_and_every_transition,
    corral,
    held_campaign,
    jobs_of,
    remote_branches,
    runtime_args,
    write_spec,
)

from corral.states import JobState, Reason
from corral.testing.cli import CORRAL, corral_env
from corral.testing.repos import make_remote, notes_repo
from corral.testing.samples import sample


def test_killed_run_resumes_with_one_pr_per_repository(
    new_store: Callable[[], str],
    tmp_path: Path,
    cache_dir: Path,
) -> None:
    forge = tmp_path / "forge"
    go = sample("go").clean()
    names = [f"svc-{i}" for i in range(4)]
    remotes = [make_remote(forge, name, go) for name in names]
    spec = write_spec(
        tmp_path / "spec.yaml",
        name="crash",
        command=f"sleep 1 && {CONTRIBUTING}",
        targets={"repos": [str(r) for r in remotes]},
        concurrency=1,
    )
    store_url = new_store()
    args = ["run", str(spec), *runtime_args(store_url, tmp_path / "work", cache_dir)]
    proc = subprocess.Popen(
        [CORRAL, *args],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=corral_env(),
    )
    try:
        _wait_for_middle(store_url)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    states = {job.name: job.state for job in jobs_of(store_url, "crash")}
    assert JobState.PR_OPEN in states.values(), states
    assert set(states.values()) != {JobState.PR_OPEN}, states  # killed in the middle

    again = corral(*args)
    assert again.returncode == 0, again.stdout + again.stderr

    assert_one_pr_each_and_every_transition(store_url, "crash", remotes)


def _wait_for_middle(store_url: str, timeout_s: float = 300) -> None:
    """Until one repository has its PR and another is not done yet."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        states = {job.state for job in jobs_of(store_url, "crash")}
        if JobState.PR_OPEN in states and states - {JobState.PR_OPEN}:
            return
        time.sleep(0.2)
    raise AssertionError("the campaign never reached its middle")


def test_approval_holds_jobs_until_a_person_decides(
    new_store: Callable[[], str],
    tmp_path: Path,
    cache_dir: Path,
) -> None:
    spec, remotes = held_campaign(tmp_path)
    store_url = new_store()
    args = ["run", str(spec), *runtime_args(store_url, tmp_path / "work", cache_dir)]

    held = corral(*args)
    assert held.returncode == 3, held.stdout + held.stderr  # nothing failed, jobs wait
    jobs = assert_held(store_url, remotes)
    assert f"corral approve {jobs['docs-a'].id}" in held.stdout

    still = corral(*args)  # a re-run does not push without a decision
    assert still.returncode == 3
    assert all(remote_branches(r) == ["main"] for r in remotes)

    approved = corral("approve", str(jobs["docs-a"].id), "--by", "alice", "--store", store_url)
    assert approved.returncode == 0, approved.stderr
    rejected = corral(
        "reject", str(jobs["docs-b"].id), "--reason", "not this quarter", "--store", store_url
    )
    assert rejected.returncode == 0, rejected.stderr
    late = corral("approve", str(jobs["docs-a"].id), "--store", store_url)
    assert late.returncode == 0  # still awaiting until the next run

    done = corral(*args)
    assert done.returncode == 1, done.stdout  # one repository ends without a PR
    assert_a_approved_b_rejected({job.name: job for job in jobs_of(store_url, "held")}, remotes)

    again = corral("approve", str(jobs["docs-a"].id), "--store", store_url)
    assert again.returncode == 2 and "not awaiting approval" in again.stderr


def test_a_repository_that_does_not_clone_fails_alone_and_retries(
    new_store: Callable[[], str],
    tmp_path: Path,
    cache_dir: Path,
) -> None:
    forge = tmp_path / "forge"
    good = [make_remote(forge, name, notes_repo()) for name in ("ok-1", "ok-2")]
    missing = forge / "later.git"
    spec = write_spec(
        tmp_path / "spec.yaml",
        name="clones",
        command=CONTRIBUTING,
        targets={"repos": [str(good[0]), str(missing), str(good[1])]},
        concurrency=1,
    )
    store_url = new_store()
    runtime = runtime_args(store_url, tmp_path / "work", cache_dir)
    first = corral("run", str(spec), *runtime)
    assert first.returncode == 1
    jobs = {job.name: job for job in jobs_of(store_url, "clones")}
    assert jobs["ok-1"].state == jobs["ok-2"].state == JobState.PR_OPEN
    assert jobs["later"].state == JobState.FAILED
    assert jobs["later"].reason_code == Reason.CLONE_FAILED

    make_remote(forge, "later", notes_repo())  # the repository appears
    retried = corral("retry", "clones", "--failed", *runtime)
    assert retried.returncode == 0, retried.stdout + retried.stderr
    assert {job.state for job in jobs_of(store_url, "clones")} == {JobState.PR_OPEN}
    assert remote_branches(missing) == ["corral/clones", "main"]


def test_campaign_budget_stops_new_jobs(
    new_store: Callable[[], str],
    tmp_path: Path,
    cache_dir: Path,
) -> None:
    forge = tmp_path / "forge"
    remotes = [make_remote(forge, f"canary-{i}", notes_repo()) for i in range(3)]
    spec = write_spec(
        tmp_path / "spec.yaml",
        name="canary",
        command=CONTRIBUTING,
        targets={"repos": [str(r) for r in remotes]},
        budgets={"campaign": {"max_jobs": 2}},
        concurrency=1,
    )
    result = corral("run", str(spec), *runtime_args(new_store(), tmp_path / "work", cache_dir))
    assert result.returncode == 1
    lines = [line for line in result.stdout.splitlines() if "canary-" in line]
    assert sum("PR open" in line for line in lines) == 2
    assert sum("budget spent" in line for line in lines) == 1
