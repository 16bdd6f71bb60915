"""Everything recorded about one job, as JSON-ready data (`corral logs --json`)."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

from corral.store import Store


def job_log(store: Store, job_id: int) -> dict[str, Any]:
    job = store.job(job_id)
    pr = store.pull_request_for_job(job_id)
    return {
        "job": plain(job),
        "pull_request": None if pr is None else plain(pr),
        "transitions": [plain(t) for t in store.transitions(job_id)],
        "baseline": [plain(run) for run in store.verifier_runs(job_id, "baseline")],
        "sessions": [
            {**plain(session), "events": [plain(e) for e in store.events(job_id, session.id)]}
            for session in store.sessions(job_id)
        ],
        "events": [plain(e) for e in store.events(job_id) if e.session_id is None],
        "gate_verdicts": [plain(v) for v in store.gate_verdicts(job_id)],
        "approvals": [plain(a) for a in store.approvals(job_id)],
        "feedback": [plain(f) for f in store.feedback(job_id)],
    }


def plain(record: Any) -> dict[str, Any]:
    """A stored record (a dataclass) as JSON-ready data."""
    data: dict[str, Any] = json.loads(json.dumps(dataclasses.asdict(record), default=str))
    return data
