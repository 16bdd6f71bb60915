"""Campaigns as the surfaces use them (CLI, dashboard, MCP): run, resume, retry, approve,
reject, and the outcome summary. Each call is a thin composition of the store, the
pipeline and an engine; no surface holds logic of its own.
"""

from __future__ import annotations

import getpass
import importlib
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from corral.config import ConfigError
from corral.engine.base import Engine, OnChange
from corral.forge.base import PullRequest
from corral.pipeline.context import CampaignContext, Runtime, context_for, open_campaign
from corral.spec import CampaignSpec
from corral.states import CampaignVerdict, JobState, Outcome, Reason
from corral.store import Store, StoreError
from corral.store.records import Approval, Campaign, Job

ENGINES: dict[str, str] = {
    "local": "corral.engine.local:LocalEngine",
    "temporal": "corral.engine.temporal.engine:TemporalEngine",
}
"""Engine name -> "module:Class", imported only when chosen."""


@dataclass(frozen=True)
class JobLine:
    job: Job
    pull_request: PullRequest | None

    @property
    def outcome(self) -> Outcome:
        return self.job.outcome

    @property
    def failed(self) -> bool:
        """Whether this job counts against the campaign (no PR for a failure, or CI red)."""
        if self.outcome == Outcome.PR_FAILED_CI:
            return True
        return self.outcome == Outcome.NO_PR and self.job.reason_code != Reason.NO_CHANGE


@dataclass(frozen=True)
class CampaignSummary:
    campaign: Campaign
    lines: list[JobLine]

    @property
    def counts(self) -> Counter[Outcome]:
        return Counter(line.outcome for line in self.lines)

    @property
    def states(self) -> Counter[JobState]:
        return Counter(line.job.state for line in self.lines)

    @property
    def verdict(self) -> CampaignVerdict:
        if any(line.failed for line in self.lines):
            return CampaignVerdict.FAILED
        settled = {Outcome.NO_PR, Outcome.PR_OPEN, Outcome.MERGED, Outcome.CLOSED}
        if any(line.outcome not in settled for line in self.lines):
            return CampaignVerdict.PENDING
        return CampaignVerdict.OK

    def to_json(self) -> dict[str, Any]:
        return {
            "campaign": self.campaign.name,
            "verdict": str(self.verdict),
            "counts": {str(k): v for k, v in self.counts.items()},
            "jobs": [
                {
                    "id": line.job.id,
                    "repo": line.job.name,
                    "state": str(line.job.state),
                    "outcome": str(line.outcome),
                    "reason_code": line.job.reason_code,
                    "reason": line.job.reason,
                    "pull_request": line.pull_request.url if line.pull_request else None,
                    "ci": line.pull_request.ci.state if line.pull_request else None,
                }
                for line in self.lines
            ],
        }


def make_engine(name: str, **options: Any) -> Engine:
    if name not in ENGINES:
        raise ConfigError(f"unknown engine {name!r}; known: {', '.join(sorted(ENGINES))}")
    module_name, class_name = ENGINES[name].split(":")
    engine: Engine = getattr(importlib.import_module(module_name), class_name)(**options)
    return engine


def run_campaign(
    spec: CampaignSpec,
    runtime: Runtime,
    *,
    engine: Engine | None = None,
    on_change: OnChange | None = None,
    on_start: Callable[[CampaignContext], None] | None = None,
) -> CampaignSummary:
    """Start or resume the campaign `spec.name`: every live job is driven as far as it goes."""
    store = Store.open(runtime.store_url)
    try:
        ctx = open_campaign(spec, runtime, store)
        if on_start is not None:
            on_start(ctx)
        (engine or make_engine("local")).run(ctx, on_change)
        return summarize(store, ctx.campaign)
    finally:
        store.close()


def resume_campaign(
    store: Store,
    campaign: Campaign,
    runtime: Runtime,
    *,
    engine: Engine | None = None,
    on_change: OnChange | None = None,
) -> CampaignSummary:
    """Drive a recorded campaign again from its stored spec (no spec file needed)."""
    ctx: CampaignContext = context_for(campaign, runtime, store)
    (engine or make_engine("local")).run(ctx, on_change)
    return summarize(store, campaign)


def retry_failed(store: Store, campaign: Campaign) -> list[Job]:
    """Queue again every job that ended without a PR for a failure (not `no change`)."""
    retried = []
    for job in store.jobs(campaign.id):
        if job.state in (JobState.FAILED, JobState.SKIPPED) and job.reason_code != Reason.NO_CHANGE:
            retried.append(
                store.transition(job.id, JobState.QUEUED, expect=job.state, reason="retry")
            )
    return retried


def find_campaign(store: Store, name_or_id: str) -> Campaign:
    campaign = store.campaign(name_or_id)
    if campaign is None:
        raise StoreError(f"no campaign {name_or_id!r} in the store")
    return campaign


def approve(store: Store, job_id: int, by: str | None = None) -> Approval:
    """Approve the job's current diff; the engine pushes it on its next pass."""
    return _decide(store, job_id, "approved", by, None)


def reject(store: Store, job_id: int, reason: str, by: str | None = None) -> Approval:
    """Reject the job's current diff; the engine ends the job (no PR) on its next pass."""
    return _decide(store, job_id, "rejected", by, reason)


def _decide(
    store: Store, job_id: int, decision: str, by: str | None, reason: str | None
) -> Approval:
    job = store.job(job_id)
    if job.state != JobState.AWAITING_APPROVAL:
        raise StoreError(f"job {job_id} is {job.state}, not awaiting approval")
    return store.decide(job_id, decision, by or getpass.getuser(), reason, job.head_sha)


def summarize(store: Store, campaign: Campaign) -> CampaignSummary:
    return CampaignSummary(
        campaign,
        [JobLine(job, store.pull_request_for_job(job.id)) for job in store.jobs(campaign.id)],
    )
