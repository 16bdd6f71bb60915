"""A person steering a running campaign: pause, resume, cancel. Library calls that every
surface (CLI, dashboard) makes alike; the engine recorded for the campaign is told.

- pause: no job is admitted any more (jobs already under way go on to their PR or wait).
- resume: admission goes on; with `rollout.approve_waves`, the next waiting wave is let
  start; a rollout's failure rate counts the jobs settled from now on.
- cancel: pause for good, end every job not yet done (queued or held: skipped; with a PR
  open: the PR closed with a comment, its branch deleted on request).
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field

from corral.config import ConfigError
from corral.engine import admission
from corral.engine.campaign import engine_class
from corral.forge.base import ForgeError
from corral.pipeline.context import CampaignContext, Runtime, open_campaign
from corral.spec import CampaignSpec
from corral.states import TERMINAL, JobState, Reason
from corral.store import StaleStateError, Store, StoreError
from corral.store.records import Campaign, Job

CANCELLED_PREFIX = "cancelled"


def pause(store: Store, campaign: Campaign, *, by: str, reason: str | None = None) -> Campaign:
    why = f"paused by {by}" + (f": {reason}" if reason else "")
    return store.set_paused(campaign.id, why)


def resume(
    store: Store,
    campaign: Campaign,
    *,
    spec: CampaignSpec | None = None,
    runtime: Runtime | None = None,
) -> Campaign:
    """Admit jobs again (and let the next wave start, when waves need a person). With a
    `spec` (a fixed one, same name), the campaign goes on with it (its new targets too)."""
    if is_cancelled(campaign):
        raise StoreError(f"campaign {campaign.name} was cancelled: it cannot resume")
    if spec is not None:
        if spec.name != campaign.name:
            raise ConfigError(f"the spec is campaign {spec.name!r}, not {campaign.name!r}")
        open_campaign(spec, runtime or Runtime(store_url=""), store)
        campaign = store.campaign(campaign.id) or campaign
    spec = CampaignSpec.model_validate(campaign.spec)
    if spec.rollout is not None and spec.rollout.approve_waves:
        wave = admission.waiting_wave(spec, store.jobs(campaign.id))
        if wave > campaign.waves_released:
            store.release_wave(campaign.id, wave)
    return store.resume(campaign.id)


def is_cancelled(campaign: Campaign) -> bool:
    return (campaign.paused or "").startswith(CANCELLED_PREFIX)


def tell_engine_campaign(store: Store, campaign: Campaign) -> str:
    """Wake the engine recorded for the campaign (after a resume: it admits jobs again)."""
    current = store.campaign(campaign.id) or campaign
    binding = current.engine or {"name": "local"}
    return engine_class(str(binding.get("name"))).wake(binding, store, current, None)


@dataclass
class Cancelled:
    campaign: Campaign
    ended: list[Job] = field(default_factory=list)
    closed: list[str] = field(default_factory=list)
    """URLs of the pull requests closed."""
    errors: list[str] = field(default_factory=list)
    """What the forge refused (the job stays as it was; cancel again to retry)."""


def cancel(ctx: CampaignContext, *, by: str, delete_branches: bool = False) -> Cancelled:
    """End the campaign: nothing admitted any more, every job not yet done ended, every
    open PR closed with a comment saying who cancelled it."""
    store = ctx.store
    campaign = store.set_paused(ctx.campaign.id, f"{CANCELLED_PREFIX} by {by}")
    done = Cancelled(campaign)
    for job in store.jobs(campaign.id):
        if job.state in TERMINAL:
            continue
        try:
            ended = _end_job(ctx, job, by, delete_branches, done)
        except ForgeError as exc:
            done.errors.append(f"{job.name}: {exc}")
            continue
        if ended is not None:
            done.ended.append(ended)
    return done


def _end_job(
    ctx: CampaignContext, job: Job, by: str, delete_branches: bool, done: Cancelled
) -> Job | None:
    pr = ctx.store.pull_request_for_job(job.id)
    why = f"campaign cancelled by {by}"
    if pr is not None and pr.state == "open":
        closed = ctx.forge.close_pr(pr, f"{why}: corral closes this pull request.")
        ctx.store.save_pull_request(closed)
        done.closed.append(pr.url)
        if delete_branches:
            ctx.forge.delete_branch(pr)
        return _transition(ctx.store, job, JobState.CLOSED, f"{why}: {pr.url} closed")
    return _transition(ctx.store, job, JobState.SKIPPED, why)


def _transition(store: Store, job: Job, state: JobState, reason: str) -> Job | None:
    """None when an engine moved the job on meanwhile (cancel again to end it)."""
    with contextlib.suppress(StaleStateError):
        return store.transition(
            job.id, state, expect=job.state, reason=reason, reason_code=Reason.CANCELLED
        )
    return None
