"""Admission: what every engine asks before a job starts or a step runs, in one place, so
the in-process engine and the Temporal engine cannot differ.

- `preflight`: the models' keys exist on this machine (else no job starts at all).
- `admit`: which queued jobs may start now: the campaign is not paused, the rollout lets
  the job's wave start, the campaign budget is not spent (a job past it is skipped, saying
  so). Jobs already started always go on.
- `next_move`: the drive loop's next move for one job: run a step (paced or not), park it
  (it waits for a person and gives its worker slot up), or stop.
- `pr_slot_wait`: the PR-creation rate limit, from when earlier creations were over.
- `waits_for_ci_slot`: a push held back by `ci_concurrency` (the slot itself is taken in
  the push, pipeline/ci_load.py, since refresh pushes inside `watch` take one too).

Everything but `preflight` and `admit` is pure, so a Temporal workflow may call it.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from corral.config import ConfigError
from corral.pipeline.context import CampaignContext
from corral.pipeline.machine import decide
from corral.pipeline.notify import notify
from corral.pipeline.refresh import WAITING as WAITING_FOR_CI_SLOT
from corral.pipeline.summary import job_failed
from corral.spec import CampaignSpec, RateLimit, RolloutSpec
from corral.states import JobState, Outcome, Reason
from corral.store import StaleStateError, Store
from corral.store.records import Approval, Campaign, Job

RATE_LIMITED_STEPS = frozenset({"open_pr"})
"""Steps that take a PR-creation slot when the campaign has a `pr_rate_limit`."""

SETTLED = frozenset(
    {Outcome.NO_PR, Outcome.PR_OPEN, Outcome.PR_FAILED_CI, Outcome.MERGED, Outcome.CLOSED}
)
"""Outcomes after which a job counts for its rollout wave (a held job has not settled)."""


def preflight(spec: CampaignSpec) -> None:
    """ConfigError when the agent's or the judge's model has no key on this machine: every
    job would fail alike after its checkout and baseline, so none should start."""
    from corral.llm.errors import ModelAuthError
    from corral.llm.settings import resolve_api_key

    judge = spec.gate.judge
    models = [spec.agent.model] if spec.uses_agent else []
    if judge.model is not None and judge.mode != "off":
        models.append(judge.model)
    for model in models:
        try:
            resolve_api_key(model)
        except ModelAuthError as exc:
            raise ConfigError(str(exc)) from exc


# the drive loop


@dataclass(frozen=True)
class Move:
    step: str | None
    """The step to run, or None: the job parks or stops."""
    park: bool = False
    """The job waits for a person: it gives its worker slot up until someone decides."""
    paced: bool = False
    """The step opens a pull request: it needs a PR-creation slot first."""


STOP = Move(None)
PARK = Move(None, park=True)


def approvals_read(store: Store, job: Job) -> Sequence[Approval]:
    """The job's approvals where the state machine looks at them (a job awaiting approval);
    none read otherwise: a store read less per step."""
    return store.approvals(job.id) if job.state == JobState.AWAITING_APPROVAL else ()


def next_move(job: Job, spec: CampaignSpec, approvals: Sequence[Approval] = ()) -> Move:
    decision = decide(job, spec, approvals)
    if decision.waiting_for == "approval":
        return PARK
    if decision.step is None:
        return STOP
    paced = decision.step in RATE_LIMITED_STEPS and spec.pr_rate_limit is not None
    return Move(decision.step, paced=paced)


def stops_after(step: str, before: JobState, job: Job) -> bool:
    """Whether the job stops driving after this step: a look at its PR found nothing new,
    so it waits for review or CI (the next run looks again), or its push waits for a CI
    slot."""
    return (step == "watch" and job.state == before) or waits_for_ci_slot(step, before, job)


def waits_for_ci_slot(step: str, before: JobState, job: Job) -> bool:
    """The push (a new PR's or CI round's, or a refresh's in `watch`) did not go out:
    `ci_concurrency` PRs have CI running (pipeline/ci_load.py). The engine drives the job
    again once another job has moved on."""
    if job.state != before:
        return False
    return step == "push" or (step == "watch" and job.freshness == WAITING_FOR_CI_SLOT)


def pr_slot_wait(
    opened: Sequence[datetime], now: datetime, limit: RateLimit, under_way: int = 0
) -> timedelta | None:
    """How long until a PR creation may start: zero when it may now; None when only a
    creation under way ending can free a slot. `opened`: when earlier creations were over."""
    window = timedelta(seconds=limit.per_s)
    recent = sorted(t for t in opened if t > now - window)
    if under_way + len(recent) < limit.count:
        return timedelta(0)
    if under_way >= limit.count or not recent:
        return None
    oldest_to_leave = recent[len(recent) - (limit.count - under_way)]
    return max(oldest_to_leave + window - now, timedelta(milliseconds=50))


# admission of queued jobs


@dataclass(frozen=True)
class Admission:
    admitted: list[int]
    """Jobs that may go on: newly started, or started before."""
    skipped: list[int]
    """Queued jobs ended as skipped: the campaign budget is spent."""
    held: list[int] = field(default_factory=list)
    """Queued jobs that stay queued: the campaign is paused or their wave may not start yet."""
    why_held: str | None = None


def admit(ctx: CampaignContext, job_ids: Sequence[int], *, starting: int = 0) -> Admission:
    """Which of these jobs may start now. `starting`: jobs let start already that have not
    left `queued` in the store yet (they count against the budget)."""
    campaign = ctx.store.campaign(ctx.campaign.id) or ctx.campaign
    jobs = ctx.store.jobs(campaign.id)
    paused = campaign.paused or _rollout_pause(ctx, campaign, jobs)
    by_id = {job.id: job for job in jobs}
    admitted: list[int] = []
    skipped: list[int] = []
    held: list[int] = []
    why_held = paused
    for job_id in job_ids:
        job = by_id.get(job_id) or ctx.store.job(job_id)
        if job.state != JobState.QUEUED:
            admitted.append(job_id)  # started before: it goes on
            continue
        hold = paused or _wave_hold(ctx, campaign, jobs, job)
        if hold is not None:
            held.append(job_id)
            why_held = why_held or hold
            continue
        spent = budget_spent(ctx, starting=starting + _newly(admitted, by_id))
        if spent is None:
            admitted.append(job_id)
            continue
        _skip(ctx, job, spent)
        skipped.append(job_id)
    return Admission(admitted, skipped, held, why_held if held else None)


def _newly(admitted: list[int], by_id: dict[int, Job]) -> int:
    return sum(1 for job_id in admitted if by_id[job_id].state == JobState.QUEUED)


def budget_spent(ctx: CampaignContext, *, starting: int = 0) -> str | None:
    """Why no further job may start (the campaign budget is spent), or None."""
    budget = ctx.spec.budgets.campaign
    store, campaign_id = ctx.store, ctx.campaign.id
    if budget.max_jobs is not None:
        started = store.jobs_started(campaign_id) + starting
        if started >= budget.max_jobs:
            return f"the campaign may start {budget.max_jobs} jobs"
    if budget.max_tokens is None and budget.max_cost_usd is None:
        return None
    used = store.campaign_usage(campaign_id)
    if budget.max_tokens is not None and used.total_tokens >= budget.max_tokens:
        return f"{used.total_tokens} of the campaign's {budget.max_tokens} tokens used"
    if budget.max_cost_usd is not None and used.cost_usd >= budget.max_cost_usd:
        return f"${used.cost_usd:.2f} of the campaign's ${budget.max_cost_usd:.2f} used"
    return None


def _skip(ctx: CampaignContext, job: Job, spent: str) -> None:
    # StaleStateError: it started meanwhile (another engine on the same store): leave it be
    with contextlib.suppress(StaleStateError):
        ctx.store.transition(
            job.id,
            JobState.SKIPPED,
            expect=JobState.QUEUED,
            reason=f"budget spent: {spent}",
            reason_code=Reason.BUDGET_SPENT,
        )


# rollout


def stage_of(rollout: RolloutSpec, index: int) -> int:
    """The rollout stage of the campaign's `index`-th job: 0 the canary, then the waves."""
    return next((n for n, end in enumerate(rollout.bounds()) if index < end), len(rollout.bounds()))


def settled(job: Job) -> bool:
    return job.outcome in SETTLED


def _wave_hold(ctx: CampaignContext, campaign: Campaign, jobs: list[Job], job: Job) -> str | None:
    """Why the job's wave may not start yet, or None."""
    rollout = ctx.spec.rollout
    if rollout is None:
        return None
    stage = stage_of(rollout, [j.id for j in jobs].index(job.id))
    if stage == 0:
        return None
    before = jobs[: rollout.bounds()[stage - 1]]
    if not all(settled(j) for j in before):
        return f"wave {stage} starts once the {_stage_name(stage - 1)} has settled"
    if rollout.approve_waves and campaign.waves_released < stage:
        reason = f"wave {stage} waits for a person: corral resume {campaign.name}"
        _pause(ctx, campaign, reason)
        return reason
    return None


def _stage_name(stage: int) -> str:
    return "canary" if stage == 0 else f"wave {stage}"


def _rollout_pause(ctx: CampaignContext, campaign: Campaign, jobs: list[Job]) -> str | None:
    """Pause the campaign when too many of the jobs settled since the last resume failed."""
    rollout = ctx.spec.rollout
    if rollout is None or rollout.pause_if is None:
        return None
    since = campaign.resumed_at
    counted = [j for j in jobs if settled(j) and (since is None or j.updated_at >= since)]
    failed = [j for j in counted if job_failed(j)]
    rule = rollout.pause_if
    if len(counted) < rule.after or len(failed) / len(counted) <= rule.failure_rate:
        return None
    reason = (
        f"rollout paused: {len(failed)} of {len(counted)} settled jobs failed "
        f"({len(failed) / len(counted):.0%} > {rule.failure_rate:.0%}); "
        f"fix the spec, then corral resume {campaign.name}"
    )
    _pause(ctx, campaign, reason)
    return reason


def _pause(ctx: CampaignContext, campaign: Campaign, reason: str) -> None:
    paused = ctx.store.set_paused(campaign.id, reason)
    notify(ctx.store, paused, ctx.spec, "paused", reason)


def waiting_wave(spec: CampaignSpec, jobs: Sequence[Job]) -> int:
    """The first rollout stage after the canary that still has a queued job (0: none)."""
    if spec.rollout is None:
        return 0
    stages = [stage_of(spec.rollout, n) for n, job in enumerate(jobs) if job.state == "queued"]
    return min((s for s in stages if s > 0), default=0)
