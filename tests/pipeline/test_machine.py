"""The job state machine as a table: every state, the step `decide` picks next."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from typing import Any

import pytest

from corral.pipeline.machine import Decision, decide
from corral.pipeline.steps import STEPS
from corral.spec import CampaignSpec
from corral.states import TERMINAL, JobState
from corral.store.records import Approval, Job

NOW = datetime(2026, 12, 7, tzinfo=UTC)


def a_job(state: JobState, **fields: Any) -> Job:
    job = Job(
        id=1,
        campaign_id=1,
        name="repo",
        repo="/r/repo",
        workspace=None,
        state=state,
        reason=None,
        reason_code=None,
        base_branch="main",
        base_sha="base",
        head_sha="head",
        branch="corral/x",
        checkout="/w/1-repo",
        ci_rounds=0,
        gated_tree=None,
        created_at=NOW,
        updated_at=NOW,
    )
    return dataclasses.replace(job, **fields)


def a_spec(**fields: Any) -> CampaignSpec:
    return CampaignSpec.model_validate(
        {"name": "x", "prompt": "do it", "targets": {"repos": ["/r/repo"]}, **fields}
    )


def an_approval(decision: str, head_sha: str | None = "head") -> Approval:
    return Approval(1, 1, decision, head_sha, "alice", None, NOW)


@pytest.mark.parametrize(
    ("state", "step"),
    [
        (JobState.QUEUED, "prepare"),
        (JobState.PREPARED, "baseline"),
        (JobState.BASELINED, "change"),
        (JobState.CHANGING, "change"),
        (JobState.GATING, "commit"),
        (JobState.COMMITTED, "push"),
        (JobState.PUSHED, "open_pr"),
        (JobState.PR_OPEN, "watch"),
        (JobState.CI_FAILED, "change"),
    ],
)
def test_each_live_state_has_its_next_step(state: JobState, step: str) -> None:
    assert decide(a_job(state), a_spec()) == Decision(step)
    assert step in STEPS


@pytest.mark.parametrize("state", sorted(TERMINAL))
def test_a_terminal_job_is_done(state: JobState) -> None:
    decision = decide(a_job(state), a_spec())
    assert decision.done and decision.step is None


def test_every_state_has_a_decision() -> None:
    for state in JobState:
        decision = decide(a_job(state), a_spec(approval="each"))
        assert decision.step in STEPS or decision.step is None


def test_a_committed_job_asks_for_approval_when_the_campaign_wants_it() -> None:
    assert decide(a_job(JobState.COMMITTED), a_spec(approval="each")).step == "request_approval"


def test_a_held_job_waits_until_someone_decides_on_this_very_diff() -> None:
    held = a_job(JobState.AWAITING_APPROVAL)
    assert decide(held, a_spec()) == Decision(None, waiting_for="approval")
    older = [an_approval("approved", head_sha="older")]
    assert decide(held, a_spec(), older).waiting_for == "approval"
    assert decide(held, a_spec(), [an_approval("approved")]).step == "push"
    assert decide(held, a_spec(), [an_approval("rejected")]).step == "reject"
    latest_wins = [an_approval("approved"), an_approval("rejected")]
    assert decide(held, a_spec(), latest_wins).step == "reject"
    assert decide(held, a_spec(), [an_approval("approved", head_sha=None)]).step == "push"


def test_ci_failures_go_back_to_the_agent_within_its_rounds() -> None:
    spec = a_spec(budgets={"job": {"max_ci_rounds": 2}})
    assert decide(a_job(JobState.CI_FAILED, ci_rounds=1), spec).step == "change"
    assert decide(a_job(JobState.CI_FAILED, ci_rounds=2), spec).step == "watch"


def test_a_change_command_never_gets_a_ci_round() -> None:
    spec = CampaignSpec.model_validate(
        {"name": "x", "command": "true", "targets": {"repos": ["/r/repo"]}}
    )
    assert decide(a_job(JobState.CI_FAILED), spec).step == "watch"
