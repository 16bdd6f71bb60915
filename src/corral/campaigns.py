"""Where the campaign operations used to live; kept while the CLI moves to `corral.cli`.

Running and resuming: `corral.engine.campaign`. Jobs (retry, approve, reject) and the
summary: `corral.pipeline.jobs` and `corral.pipeline.summary`.
"""

from __future__ import annotations

from corral.engine.campaign import (
    ENGINES,
    make_engine,
    resume_campaign,
    run_campaign,
    tell_engine,
)
from corral.pipeline.jobs import Decided, find_campaign, retry_failed
from corral.pipeline.jobs import approve as _approve
from corral.pipeline.jobs import reject as _reject
from corral.pipeline.summary import CampaignSummary, JobLine, summarize
from corral.store import Store
from corral.store.records import Approval

__all__ = [
    "ENGINES",
    "CampaignSummary",
    "Decided",
    "JobLine",
    "approve",
    "find_campaign",
    "make_engine",
    "reject",
    "resume_campaign",
    "retry_failed",
    "run_campaign",
    "summarize",
]


def approve(store: Store, job_id: int, by: str | None = None) -> Approval:
    return _approve(store, job_id, hook=tell_engine, by=by).approval


def reject(store: Store, job_id: int, reason: str, by: str | None = None) -> Approval:
    return _reject(store, job_id, reason, hook=tell_engine, by=by).approval
