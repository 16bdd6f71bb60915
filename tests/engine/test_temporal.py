"""The campaign pipeline on a real Temporal dev server, driven through the real CLI: worker
processes sharing the work, a worker killed with SIGKILL mid-job and replaced, and a held
job released by the approval signal."""

from __future__ import annotations

import asyncio
import itertools
import signal
import subprocess
import time
from datetime import datetime
from pathlib import Path

from campaign_helpers import (
    CONTRIBUTING,
    assert_a_approved_b_rejected,
    assert_held,
    assert_one_pr_each_and_every_transition,
    corral,
    held_campaign,
    jobs_of,
    move_base,
    write_spec,
)
from temporal_helpers import StartWorker
from temporalio.client import Client

from corral.states import JobState
from corral.store import Store
from corral.store.records import Job, Transition
from corral.testing.cli import CORRAL, corral_env
from corral.testing.repos import make_remote, notes_repo
from corral.testing.samples import sample


def run_args(spec: Path, store: str, tmp_path: Path, address: str) -> list[str]:
    return [
        "run",
        str(spec),
        "--engine",
        "temporal",
        "--temporal-address",
        address,
        "--store",
        store,
        "--work-dir",
        str(tmp_path / "client-work"),
        "--sandbox",
        "local",
    ]


async def _activity_workers(address: str, workflow_ids: list[str]) -> set[str]:
    """The identities (pid@host) of the workers that started the workflows' activities."""
    client = await Client.connect(address)
    identities = set()
    for workflow_id in workflow_ids:
        async for event in client.get_workflow_handle(workflow_id).fetch_history_events():
            if event.HasField("activity_task_started_event_attributes"):
                identities.add(event.activity_task_started_event_attributes.identity)
    return identities


def test_campaign_completes_through_two_workers(
    temporal_address: str, start_worker: StartWorker, tmp_path: Path
) -> None:
    forge = tmp_path / "forge"
    remotes = [make_remote(forge, "svc-go", sample("go").clean())]
    remotes += [make_remote(forge, f"docs-{i}", notes_repo()) for i in range(3)]
    spec = write_spec(
        tmp_path / "spec.yaml",
        name="fleet",
        command=f"sleep 1 && {CONTRIBUTING}",
        targets={"repos": [str(r) for r in remotes]},
        concurrency=4,
    )
    store = str(tmp_path / "corral.db")
    workers = [start_worker(store, tmp_path / "work", max_jobs=1) for _ in range(2)]

    result = corral(*run_args(spec, store, tmp_path, temporal_address))

    assert result.returncode == 0, result.stdout + result.stderr
    assert "4 PR open" in result.stdout
    assert_one_pr_each_and_every_transition(store, "fleet", remotes)
    jobs = jobs_of(store, "fleet")
    workflow_ids = [f"corral-fleet-{jobs[0].campaign_id}-job-{job.id}" for job in jobs]
    identities = asyncio.run(_activity_workers(temporal_address, workflow_ids))
    assert {identity.split("@")[0] for identity in identities} == {
        str(w.pid) for w in workers
    }  # both workers ran steps


def test_concurrency_and_pr_rate_limit_hold_across_workers(
    temporal_address: str, start_worker: StartWorker, tmp_path: Path
) -> None:
    forge = tmp_path / "forge"
    remotes = [make_remote(forge, f"docs-{i}", notes_repo()) for i in range(4)]
    spec = write_spec(
        tmp_path / "spec.yaml",
        name="paced",
        command=CONTRIBUTING,
        targets={"repos": [str(r) for r in remotes]},
        concurrency=2,
        pr_rate_limit={"count": 1, "per_s": 2},
    )
    store = str(tmp_path / "corral.db")
    for _ in range(2):
        start_worker(store, tmp_path / "work", max_jobs=2)  # room for 4 jobs at once

    result = corral(*run_args(spec, store, tmp_path, temporal_address))

    assert result.returncode == 0, result.stdout + result.stderr
    assert_one_pr_each_and_every_transition(store, "paced", remotes)
    db = Store.open(store)
    try:
        record = db.campaign("paced")
        assert record is not None
        opened = sorted(
            t.at
            for job in db.jobs(record.id)
            for t in db.transitions(job.id)
            if t.to_state == JobState.PR_OPEN
        )
        spans = [_busy_span(db.transitions(job.id)) for job in db.jobs(record.id)]
    finally:
        db.close()
    gaps = [(b - a).total_seconds() for a, b in itertools.pairwise(opened)]
    assert all(gap >= 1.9 for gap in gaps), gaps  # one PR per 2 s, whichever worker opened it
    assert max(sum(s <= t < e for s, e in spans) for t, _ in spans) <= 2, spans


def _busy_span(chain: list[Transition]) -> tuple[datetime, datetime]:
    """From leaving `queued` to the last transition: within the job's workflow's life."""
    return chain[1].at, chain[-1].at


def test_worker_killed_mid_job_is_replaced_and_the_campaign_finishes(
    temporal_address: str, start_worker: StartWorker, tmp_path: Path
) -> None:
    forge = tmp_path / "forge"
    remotes = [make_remote(forge, f"svc-{i}", notes_repo()) for i in range(3)]
    spec = write_spec(
        tmp_path / "spec.yaml",
        name="crash",
        command=f"sleep 3 && {CONTRIBUTING}",
        targets={"repos": [str(r) for r in remotes]},
        concurrency=3,
    )
    store = str(tmp_path / "corral.db")
    first = start_worker(store, tmp_path / "work", max_jobs=3)
    run = subprocess.Popen(
        [CORRAL, *run_args(spec, store, tmp_path, temporal_address)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=corral_env(),
    )
    try:
        changing = _wait_for_state(store, "crash", JobState.CHANGING)
        _wait_for_session(store, changing.id)  # the change command is running
        first.send_signal(signal.SIGKILL)
        first.wait()
        assert not any(job.state == JobState.PR_OPEN for job in jobs_of(store, "crash"))
        start_worker(store, tmp_path / "work", max_jobs=3)
        out, _ = run.communicate(timeout=600)
    finally:
        if run.poll() is None:
            run.kill()
    assert run.returncode == 0, out

    sessions = assert_one_pr_each_and_every_transition(store, "crash", remotes)
    # the killed change was run again by the new worker: a lost session, then a finished one
    # (on a loaded machine a slow heartbeat may cost one more retry in between)
    statuses = [s.status for s in sessions[changing.name]]
    assert statuses[0] is None and statuses[-1] == "passed", statuses


def _wait_for_session(store_url: str, job_id: int) -> None:
    store = Store.open(store_url)
    try:
        while not store.sessions(job_id):
            time.sleep(0.05)
    finally:
        store.close()


def _wait_for_state(store: str, campaign: str, state: JobState, timeout_s: float = 300) -> Job:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        for job in jobs_of(store, campaign):
            if job.state == state:
                return job
        time.sleep(0.1)
    raise AssertionError(f"no job of {campaign} reached {state}")


def test_approval_signal_releases_a_held_job(
    temporal_address: str, start_worker: StartWorker, tmp_path: Path
) -> None:
    spec, remotes = held_campaign(tmp_path)
    store = str(tmp_path / "corral.db")
    start_worker(store, tmp_path / "work")

    held = corral(*run_args(spec, store, tmp_path, temporal_address))
    assert held.returncode == 3, held.stdout + held.stderr  # nothing failed, jobs wait
    jobs = assert_held(store, remotes)

    decide = ["--store", store]  # the campaign recorded where its engine runs
    approved = corral("approve", str(jobs["docs-a"].id), "--by", "alice", *decide)
    assert approved.returncode == 0, approved.stderr
    assert "it goes on now" in approved.stdout
    rejected = corral("reject", str(jobs["docs-b"].id), "--reason", "not this quarter", *decide)
    assert rejected.returncode == 0, rejected.stderr

    # no second `corral run`: the signalled workflows go on by themselves
    released = _wait_for_state(store, "held", JobState.PR_OPEN, timeout_s=120)
    assert released.name == "docs-a"
    after = {job.name: job for job in jobs_of(store, "held")}
    deadline = time.monotonic() + 60
    while after["docs-b"].state != JobState.FAILED and time.monotonic() < deadline:
        time.sleep(0.2)
        after = {job.name: job for job in jobs_of(store, "held")}
    assert_a_approved_b_rejected(after, remotes)

    done = corral("status", "held", "--store", store)
    assert done.returncode == 1  # one repository ended without a PR (rejected)


def test_dashboard_approval_releases_a_held_job_within_seconds(
    temporal_address: str, start_worker: StartWorker, tmp_path: Path
) -> None:
    """The dashboard's approve and reject go through the same library call as the CLI's,
    with the engine's hook: the campaign recorded that Temporal runs it, so the job's
    workflow is signalled (held jobs here never re-read the store on their own)."""
    from fastapi.testclient import TestClient

    from corral.web.app import create_app
    from corral.web.settings import DashboardSettings

    spec, remotes = held_campaign(tmp_path)
    store_url = str(tmp_path / "corral.db")
    start_worker(store_url, tmp_path / "work")
    held = corral(*run_args(spec, store_url, tmp_path, temporal_address))
    assert held.returncode == 3, held.stdout + held.stderr
    jobs = assert_held(store_url, remotes)

    store = Store.open(store_url)
    try:
        client = TestClient(
            create_app(store, DashboardSettings(token="s3cret", allowed_hosts=["testserver"]))
        )
        auth = {"Authorization": "Bearer s3cret"}
        decided_at = time.monotonic()
        approved = client.post(f"/api/jobs/{jobs['docs-a'].id}/approve", json={}, headers=auth)
        assert approved.status_code == 200, approved.text
        rejected = client.post(
            f"/api/jobs/{jobs['docs-b'].id}/reject",
            json={"reason": "not this quarter"},
            headers=auth,
        )
        assert rejected.status_code == 200, rejected.text
    finally:
        store.close()

    released = _wait_for_state(store_url, "held", JobState.PR_OPEN, timeout_s=60)
    assert released.name == "docs-a"
    assert time.monotonic() - decided_at < 30  # not the 300 s of a store re-read
    after = {job.name: job for job in jobs_of(store_url, "held")}
    deadline = time.monotonic() + 30
    while after["docs-b"].state != JobState.FAILED and time.monotonic() < deadline:
        time.sleep(0.2)
        after = {job.name: job for job in jobs_of(store_url, "held")}
    assert_a_approved_b_rejected(after, remotes)
    _save_histories(temporal_address, jobs_of(store_url, "held"))


def _save_histories(address: str, jobs: list[Job]) -> None:
    """With CORRAL_RECORD_HISTORIES=DIR, keep the workflows' histories for the replay tests."""
    import os

    folder = os.environ.get("CORRAL_RECORD_HISTORIES")
    if not folder:
        return

    async def save() -> None:
        client = await Client.connect(address)
        campaign = jobs[0].campaign_id
        ids = {"campaign": f"corral-held-{campaign}"}
        ids |= {job.name: f"corral-held-{campaign}-job-{job.id}" for job in jobs}
        for name, workflow_id in ids.items():
            history = await client.get_workflow_handle(workflow_id).fetch_history()
            (Path(folder) / f"held-{name}.json").write_text(history.to_json())

    asyncio.run(save())


def test_a_failing_canary_pauses_the_rollout_on_temporal_too(
    temporal_address: str, start_worker: StartWorker, tmp_path: Path
) -> None:
    """The campaign workflow admits through the same admission as the local engine: the
    wave waits for the canary, and a failing canary pauses the campaign, no PR past it."""
    forge = tmp_path / "forge"
    legacy = {**notes_repo(), "LEGACY": "old layout\n"}
    remotes = [make_remote(forge, "canary", legacy)]
    remotes += [make_remote(forge, f"docs-{i}", notes_repo()) for i in range(2)]
    rollout = {"canary": 1, "pause_if": {"failure_rate": 0.5, "after": 1}}
    spec = write_spec(
        tmp_path / "spec.yaml",
        name="staged",
        command=f"test ! -f LEGACY && {CONTRIBUTING}",
        targets={"repos": [str(r) for r in remotes]},
        rollout=rollout,
    )
    store = str(tmp_path / "corral.db")
    start_worker(store, tmp_path / "work")

    paused = corral(*run_args(spec, store, tmp_path, temporal_address))
    assert paused.returncode == 1, paused.stdout + paused.stderr
    assert "rollout paused: 1 of 1 settled jobs failed" in paused.stdout
    assert [j.state for j in jobs_of(store, "staged")] == [
        JobState.FAILED,
        JobState.QUEUED,
        JobState.QUEUED,
    ]

    fixed = write_spec(
        tmp_path / "fixed.yaml",
        name="staged",
        command=CONTRIBUTING,
        targets={"repos": [str(r) for r in remotes]},
        rollout=rollout,
    )
    resumed = corral(
        "resume",
        "staged",
        "--spec",
        str(fixed),
        "--store",
        store,
        "--sandbox",
        "local",
        "--work-dir",
        str(tmp_path / "client-work"),
    )
    assert resumed.returncode == 1, resumed.stdout + resumed.stderr  # the canary's failure
    states = [j.state for j in jobs_of(store, "staged")]
    assert states == [JobState.FAILED, JobState.PR_OPEN, JobState.PR_OPEN]


def test_ci_concurrency_and_stale_prs_on_temporal_too(
    temporal_address: str, start_worker: StartWorker, tmp_path: Path
) -> None:
    """Pushes wait for the one CI slot, then a base that moves under the three PRs: two are
    rebased, the conflicting one is redone; the same pipeline steps as the local engine."""
    config = notes_repo()[".corral.yaml"] + "ci:\n  command: [sh, -c, 'sleep 1']\n"
    files = {".corral.yaml": config, "NOTES.md": "Notes\nThe second line.\n"}
    remotes = [make_remote(tmp_path / "forge", f"notes-{i}", files) for i in range(3)]
    spec = write_spec(
        tmp_path / "spec.yaml",
        name="fresh",
        command="sed -i '1s/.*/Release notes/' NOTES.md",
        targets={"repos": [str(r) for r in remotes]},
        concurrency=3,
        ci_concurrency=1,
    )
    store = str(tmp_path / "corral.db")
    start_worker(store, tmp_path / "work", max_jobs=3)

    first = corral(*run_args(spec, store, tmp_path, temporal_address))
    assert first.returncode == 0, first.stdout + first.stderr
    db = Store.open(store)
    try:
        jobs = db.jobs(db.campaign("fresh").id)  # type: ignore[union-attr]
        assert {j.state for j in jobs} == {JobState.PR_OPEN}
        spans = [_ci_span(db, job) for job in jobs]
        assert any(e.kind == "ci_slot_wait" for j in jobs for e in db.events(j.id))
    finally:
        db.close()
    assert max(sum(s <= t < e for s, e in spans) for t, _ in spans) == 1, spans

    for remote in remotes[1:]:
        move_base(remote, {"OTHER.md": "Meanwhile.\n"})
    move_base(remotes[0], {"NOTES.md": "Changelog\nThe second line.\n"})
    second = corral(*run_args(spec, store, tmp_path, temporal_address))
    assert second.returncode == 0, second.stdout + second.stderr
    fresh = {Path(j.repo).name: j.freshness for j in jobs_of(store, "fresh")}
    assert fresh == {"notes-0.git": "redone", "notes-1.git": "rebased", "notes-2.git": "rebased"}
    assert {j.state for j in jobs_of(store, "fresh")} == {JobState.PR_OPEN}


def _ci_span(db: Store, job: Job) -> tuple[datetime, datetime]:
    """From the push to CI's verdict on it, as the store recorded them."""
    pushed = next(t.at for t in db.transitions(job.id) if t.to_state == JobState.PUSHED)
    verdict = next(
        e.at
        for e in db.events(job.id)
        if e.kind == "ci" and e.data["state"] in ("passed", "failed")
    )
    return pushed, verdict
