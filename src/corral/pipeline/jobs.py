"""What a campaign's jobs are, as every surface changes them: finding the campaign, retrying
failed jobs, and a person's decision on a held job.

A decision goes through one call, `decide`, with a hook the engine supplies
(`corral.engine.campaign.tell_engine`), so an approval given anywhere (CLI, dashboard, API)
reaches the engine running the job, a Temporal workflow included, at once.
"""

from __future__ import annotations

import getpass
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from corral.states import NOT_FAILURES, JobState
from corral.store import Store, StoreError
from corral.store.records import Approval, Campaign, Job

Verdict = Literal["approved", "rejected"]

DecisionHook = Callable[[Store, Job], str]
"""Called once a decision is stored: wakes the engine running the job; returns what it did,
in one line for the person who decided."""


@dataclass(frozen=True)
class Decided:
    approval: Approval
    engine_note: str
    """What the engine did about it ("its workflow goes on now", "the next run acts on it")."""


def find_campaign(store: Store, name_or_id: str) -> Campaign:
    campaign = store.campaign(name_or_id)
    if campaign is None:
        raise StoreError(f"no campaign {name_or_id!r} in the store")
    return campaign


def retry_failed(store: Store, campaign: Campaign) -> list[Job]:
    """Queue again every job that ended without a PR for a failure (not `no change`)."""
    retried = []
    for job in store.jobs(campaign.id):
        if job.state in (JobState.FAILED, JobState.SKIPPED) and job.reason_code not in NOT_FAILURES:
            retried.append(
                store.transition(job.id, JobState.QUEUED, expect=job.state, reason="retry")
            )
    return retried


def decide(
    store: Store,
    job_id: int,
    verdict: Verdict,
    *,
    hook: DecisionHook,
    by: str | None = None,
    reason: str | None = None,
) -> Decided:
    """Record a person's decision on the held job's current diff, then tell its engine.

    StoreError when the job is not awaiting approval, or a rejection gives no reason."""
    job = store.job(job_id)
    if job.state != JobState.AWAITING_APPROVAL:
        raise StoreError(f"job {job_id} is {job.state}, not awaiting approval")
    if verdict == "rejected" and not reason:
        raise StoreError("a rejection needs a reason")
    approval = store.decide(job_id, verdict, by or getpass.getuser(), reason, job.head_sha)
    return Decided(approval, hook(store, job))


def approve(store: Store, job_id: int, *, hook: DecisionHook, by: str | None = None) -> Decided:
    """Approve the job's current diff; its engine pushes it and opens the PR."""
    return decide(store, job_id, "approved", hook=hook, by=by)


def reject(
    store: Store, job_id: int, reason: str, *, hook: DecisionHook, by: str | None = None
) -> Decided:
    """Reject the job's current diff; its engine ends the job (no PR)."""
    return decide(store, job_id, "rejected", hook=hook, by=by, reason=reason)
