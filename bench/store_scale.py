"""The dashboard, its API and `corral status` on a store of one campaign with 10,000 jobs
and 1,000,000 events: each answer's time against the 300 ms goal (1 s for `corral status`).

    .venv/bin/python bench/store_scale.py [--jobs 10000] [--events 1000000] [--store URL]
                                          [--runs 3] [--keep]

The store is filled with bulk inserts (jobs in every state, transitions, sessions, events,
gate verdicts, pull requests), then each page and API answer is requested `--runs` times in
process (FastAPI's test client: the server's own time, no network) and `corral status` is
run as a user runs it. The median of each is printed; a fresh SQLite file is used unless
`--store` names another (PostgreSQL too).
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import insert, select

from corral.states import JobState
from corral.store import Store
from corral.store import models as m
from corral.testing.cli import CORRAL
from corral.web.app import create_app
from corral.web.settings import DashboardSettings

CAMPAIGN = "scale"
STATES = [
    JobState.PR_OPEN,
    JobState.MERGED,
    JobState.FAILED,
    JobState.CI_FAILED,
    JobState.QUEUED,
    JobState.CHANGING,
    JobState.AWAITING_APPROVAL,
    JobState.CLOSED,
]
BATCH = 20_000
SPEC = {
    "name": CAMPAIGN,
    "command": "true",
    "targets": {"repos": ["https://git.example.com/org/a.git"]},
}


def fill(store: Store, jobs: int, events: int) -> tuple[int, int]:
    """Insert the campaign; returns its id and one job's id (with its share of events)."""
    start = datetime.now(UTC) - timedelta(days=3)
    with store.engine.begin() as db:
        campaign_id = db.execute(
            insert(m.CampaignRow).values(name=CAMPAIGN, spec=SPEC, created_at=start)
        ).inserted_primary_key[0]
        rows = [_job(campaign_id, i, start) for i in range(jobs)]
        for batch in _batches(rows):
            db.execute(insert(m.JobRow), batch)
        job_ids = list(db.scalars(select(m.JobRow.id).where(m.JobRow.campaign_id == campaign_id)))
        transitions = [_transition(job_id, i, start) for i, job_id in enumerate(job_ids)]
        for batch in _batches(transitions):
            db.execute(insert(m.TransitionRow), batch)
        sessions = [_session(job_id, start) for job_id in job_ids]
        for batch in _batches(sessions):
            db.execute(insert(m.SessionRow), batch)
        session_of = dict(db.execute(select(m.SessionRow.job_id, m.SessionRow.id)).all())
        per_job = max(1, events // len(job_ids))
        for batch in _batches(_events(job_ids, session_of, per_job, start)):
            db.execute(insert(m.EventRow), batch)
        prs = [_pull_request(campaign_id, job_id, i) for i, job_id in enumerate(job_ids[::2])]
        for batch in _batches(prs):
            db.execute(insert(m.PullRequestRow), batch)
    return campaign_id, job_ids[len(job_ids) // 2]


def _job(campaign_id: int, i: int, start: datetime) -> dict[str, Any]:
    state = STATES[i % len(STATES)]
    return {
        "campaign_id": campaign_id,
        "name": f"org/repo-{i:05d}",
        "repo": f"https://git.example.com/org/repo-{i:05d}.git",
        "state": str(state),
        "reason": "the gate vetoed the change" if state == JobState.FAILED else None,
        "reason_code": "gate_vetoed" if state == JobState.FAILED else None,
        "ci_rounds": 0,
        "created_at": start,
        "updated_at": start + timedelta(seconds=i),
    }


def _transition(job_id: int, i: int, start: datetime) -> dict[str, Any]:
    return {
        "job_id": job_id,
        "from_state": "queued",
        "to_state": str(STATES[i % len(STATES)]),
        "at": start + timedelta(seconds=i),
    }


def _session(job_id: int, start: datetime) -> dict[str, Any]:
    return {
        "job_id": job_id,
        "agent": "builtin",
        "purpose": "change",
        "status": "passed",
        "reason": "the gate passed",
        "turns": 12,
        "input_tokens": 40_000,
        "output_tokens": 3_000,
        "cost_usd": 0.12,
        "started_at": start,
        "ended_at": start + timedelta(minutes=4),
    }


def _events(
    job_ids: list[int], session_of: dict[int, int], per_job: int, start: datetime
) -> Iterator[dict[str, Any]]:
    for job_id in job_ids:
        for n in range(per_job):
            kind = ("model_call", "tool_call", "gate")[n % 3]
            yield {
                "job_id": job_id,
                "session_id": session_of.get(job_id),
                "kind": kind,
                "data": {"turn": n, "ok": True, "name": "read_file", "duration_s": 0.4},
                "at": start + timedelta(seconds=n),
            }


def _pull_request(campaign_id: int, job_id: int, i: int) -> dict[str, Any]:
    return {
        "campaign_id": campaign_id,
        "job_id": job_id,
        "forge": "local",
        "repo": f"https://git.example.com/org/repo-{i:05d}.git",
        "number": i + 1,
        "url": f"https://git.example.com/org/repo-{i:05d}/pull/{i + 1}",
        "branch": f"corral/{CAMPAIGN}",
        "base_branch": "main",
        "title": CAMPAIGN,
        "body": "Opened by corral.",
        "state": "open",
        "ci_state": "passed",
    }


def _batches(
    rows: Iterator[dict[str, Any]] | list[dict[str, Any]],
) -> Iterator[list[dict[str, Any]]]:
    batch: list[dict[str, Any]] = []
    for row in rows:
        batch.append(row)
        if len(batch) == BATCH:
            yield batch
            batch = []
    if batch:
        yield batch


def median_s(call: Callable[[], object], runs: int) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        call()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--jobs", type=int, default=10_000)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--store")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="corral-scale-"))
    url = args.store or str(folder / "corral.db")
    store = Store.open(url)
    started = time.perf_counter()
    campaign_id, job_id = fill(store, args.jobs, args.events)
    print(
        f"filled {url}: {args.jobs} jobs, {args.events} events in "
        f"{time.perf_counter() - started:.0f}s",
        flush=True,
    )
    client = TestClient(create_app(store, DashboardSettings()), base_url="http://localhost")
    answers = {
        "GET /api/campaigns": "/api/campaigns",
        "GET /api/campaigns/{id}": f"/api/campaigns/{campaign_id}",
        "GET /api/campaigns/{id}/jobs": f"/api/campaigns/{campaign_id}/jobs",
        "GET /api/campaigns/{id}/burndown": f"/api/campaigns/{campaign_id}/burndown",
        "GET /api/jobs/{id}": f"/api/jobs/{job_id}",
        "page /": "/",
        "page /campaigns/{id}": f"/campaigns/{campaign_id}",
        "page /jobs/{id}": f"/jobs/{job_id}",
    }
    rows = []
    for what, path in answers.items():
        status = client.get(path).status_code
        rows.append((what, median_s(lambda path=path: client.get(path), args.runs), 0.3, status))
    status_run = [CORRAL, "status", CAMPAIGN, "--store", url, "--json"]
    run = lambda: subprocess.run(status_run, capture_output=True, check=False)  # noqa: E731
    rows.append(("corral status CAMPAIGN --json", median_s(run, args.runs), 1.0, 0))
    print(f"\n{'answer':36} {'median':>9} {'goal':>7}  verdict")
    for what, seconds, goal, status in rows:
        verdict = "met" if seconds <= goal and status in (0, 200) else "MISSED"
        code = f" (HTTP {status})" if status not in (0, 200) else ""
        print(f"{what:36} {seconds * 1000:7.0f}ms {goal * 1000:5.0f}ms  {verdict}{code}")
    store.close()


if __name__ == "__main__":
    sys.exit(main())
