"""Admission, shared by both engines: the drive loop's moves, PR pacing, and which queued
jobs may start (pause, rollout waves, campaign budget), on a real SQLite store."""

from __future__ import annotations

import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).parents[1] / "pipeline"))

from test_machine import a_job, a_spec, an_approval

from corral.engine import admission
from corral.pipeline.context import CampaignContext, Runtime, context_for
from corral.spec import RateLimit, RolloutSpec
from corral.states import JobState, Reason
from corral.store import Store

NOW = datetime(2026, 12, 7, 12, tzinfo=UTC)


def test_a_held_job_parks_and_a_decided_one_moves_on() -> None:
    held = a_job(JobState.AWAITING_APPROVAL)
    assert admission.next_move(held, a_spec()) == admission.PARK
    assert admission.next_move(held, a_spec(), [an_approval("approved")]).step == "push"
    assert admission.next_move(a_job(JobState.MERGED), a_spec()) == admission.STOP


def test_only_pr_creation_is_paced_and_only_with_a_limit() -> None:
    pushed = a_job(JobState.PUSHED)
    assert not admission.next_move(pushed, a_spec()).paced
    limited = a_spec(pr_rate_limit={"count": 1, "per_s": 60})
    assert admission.next_move(pushed, limited) == admission.Move("open_pr", paced=True)
    assert not admission.next_move(a_job(JobState.PR_OPEN), limited).paced


def test_a_watch_that_saw_nothing_new_stops_the_drive() -> None:
    assert admission.stops_after("watch", JobState.PR_OPEN, a_job(JobState.PR_OPEN))
    assert not admission.stops_after("watch", JobState.PR_OPEN, a_job(JobState.MERGED))
    assert not admission.stops_after("change", JobState.CHANGING, a_job(JobState.CHANGING))


def test_pr_slots_free_up_as_creations_leave_the_window() -> None:
    limit = RateLimit(count=2, per_s=60)
    assert admission.pr_slot_wait([], NOW, limit) == timedelta(0)
    one = [NOW - timedelta(seconds=50)]
    assert admission.pr_slot_wait(one, NOW, limit) == timedelta(0)
    two = [NOW - timedelta(seconds=50), NOW - timedelta(seconds=10)]
    assert admission.pr_slot_wait(two, NOW, limit) == timedelta(seconds=10)
    assert admission.pr_slot_wait(one, NOW, limit, under_way=1) == timedelta(seconds=10)
    assert admission.pr_slot_wait([], NOW, limit, under_way=2) is None
    stale = [NOW - timedelta(seconds=70), NOW - timedelta(seconds=61)]
    assert admission.pr_slot_wait(stale, NOW, limit) == timedelta(0)


def test_stages_are_cumulative_and_the_rest_comes_last() -> None:
    rollout = RolloutSpec(canary=3, waves=[10, 15])
    stages = [admission.stage_of(rollout, n) for n in range(20)]
    assert stages == [0] * 3 + [1] * 7 + [2] * 5 + [3] * 5


def test_wave_sizes_must_grow_past_the_canary() -> None:
    with pytest.raises(ValueError, match="larger than the canary"):
        RolloutSpec(canary=5, waves=[5, 10])
    with pytest.raises(ValueError, match="cumulative"):
        RolloutSpec(canary=2, waves=[10, 8])


# admit, on a real store


def a_campaign(tmp_path: Path, jobs: int, **spec: Any) -> CampaignContext:
    store = Store.open(str(tmp_path / "corral.db"))
    repos = [f"/r/repo-{n:02}" for n in range(jobs)]
    campaign = store.save_campaign("x", a_spec(targets={"repos": repos}, **spec).model_dump())
    for repo in repos:
        store.ensure_job(campaign.id, Path(repo).name, repo, None)
    return context_for(campaign, Runtime(str(tmp_path / "corral.db"), tmp_path / "w"), store)


def settle(
    ctx: CampaignContext, job_ids: list[int], state: JobState, code: str | None = None
) -> None:
    for job_id in job_ids:
        ctx.store.transition(job_id, state, reason_code=code)


def ids(ctx: CampaignContext) -> list[int]:
    return [job.id for job in ctx.store.jobs(ctx.campaign.id)]


def test_without_a_rollout_every_job_is_admitted(tmp_path: Path) -> None:
    ctx = a_campaign(tmp_path, 4)
    assert admission.admit(ctx, ids(ctx)).admitted == ids(ctx)


def test_a_wave_waits_for_the_canary_to_settle(tmp_path: Path) -> None:
    ctx = a_campaign(tmp_path, 8, rollout={"canary": 2, "waves": [5]})
    every = ids(ctx)
    first = admission.admit(ctx, every)
    assert first.admitted == every[:2] and first.held == every[2:]
    assert first.why_held == "wave 1 starts once the canary has settled"
    settle(ctx, every[:1], JobState.PR_OPEN)
    settle(ctx, every[1:2], JobState.AWAITING_APPROVAL)  # held for a person: not settled
    assert admission.admit(ctx, every[2:]).admitted == []
    settle(ctx, every[1:2], JobState.MERGED)
    second = admission.admit(ctx, every[2:])
    assert second.admitted == every[2:5] and second.held == every[5:]


def test_too_many_failures_pause_the_campaign_until_resumed(tmp_path: Path) -> None:
    rollout = {"canary": 3, "waves": [10], "pause_if": {"failure_rate": 0.3, "after": 3}}
    ctx = a_campaign(tmp_path, 12, rollout=rollout)
    every = ids(ctx)
    settle(ctx, every[:2], JobState.FAILED, Reason.GATE_VETOED)
    settle(ctx, every[2:3], JobState.PR_OPEN)
    paused = admission.admit(ctx, every[3:])
    assert paused.admitted == [] and paused.held == every[3:]
    assert (
        paused.why_held is not None and "2 of 3 settled jobs failed (67% > 30%)" in paused.why_held
    )
    assert ctx.store.campaign(ctx.campaign.id).paused == paused.why_held  # type: ignore[union-attr]

    ctx.store.resume(ctx.campaign.id)  # failures before the resume no longer count
    assert admission.admit(ctx, every[3:]).admitted == every[3:10]


def test_a_job_that_needed_no_change_is_no_failure(tmp_path: Path) -> None:
    rollout = {"canary": 2, "pause_if": {"failure_rate": 0.3, "after": 2}}
    ctx = a_campaign(tmp_path, 4, rollout=rollout)
    every = ids(ctx)
    settle(ctx, every[:2], JobState.SKIPPED, Reason.NO_CHANGE)
    assert admission.admit(ctx, every[2:]).admitted == every[2:]


def test_approve_waves_pause_before_each_wave_until_a_person_resumes(tmp_path: Path) -> None:
    ctx = a_campaign(tmp_path, 5, rollout={"canary": 1, "waves": [3], "approve_waves": True})
    every = ids(ctx)
    settle(ctx, every[:1], JobState.PR_OPEN)
    waiting = admission.admit(ctx, every[1:])
    assert (
        waiting.admitted == [] and waiting.why_held == "wave 1 waits for a person: corral resume x"
    )
    assert admission.waiting_wave(ctx.spec, ctx.store.jobs(ctx.campaign.id)) == 1
    ctx.store.resume(ctx.campaign.id)
    ctx.store.release_wave(ctx.campaign.id, 1)
    assert admission.admit(ctx, every[1:]).admitted == every[1:3]


def test_a_paused_campaign_admits_nothing_new_but_started_jobs_go_on(tmp_path: Path) -> None:
    ctx = a_campaign(tmp_path, 3)
    every = ids(ctx)
    settle(ctx, every[:1], JobState.CHANGING)
    ctx.store.set_paused(ctx.campaign.id, "paused by alice")
    verdict = admission.admit(ctx, every)
    assert verdict.admitted == every[:1] and verdict.held == every[1:]
    assert verdict.why_held == "paused by alice"


def test_the_budget_skips_jobs_past_it_and_says_so(tmp_path: Path) -> None:
    ctx = a_campaign(tmp_path, 3, budgets={"campaign": {"max_jobs": 2}})
    every = ids(ctx)
    verdict = admission.admit(ctx, every)
    assert verdict.admitted == every[:2] and verdict.skipped == every[2:]
    skipped = ctx.store.job(every[2])
    assert skipped.state == JobState.SKIPPED and skipped.reason_code == Reason.BUDGET_SPENT
