"""What the dashboard's JSON API serves (and its pages show): pydantic models, so FastAPI
documents every field in the OpenAPI schema. Sessions, approvals and feedback are served as
the store records them (`corral.store.records`)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from corral.states import CampaignVerdict
from corral.store.records import Approval, Feedback, Session


class CampaignOverview(BaseModel):
    id: int
    name: str
    created_at: datetime
    jobs: int
    counts: dict[str, int]
    """Jobs per outcome as the fleet owner sees it ("no PR", "PR open", "merged"...)."""
    settled: int
    """Jobs that need nothing more from corral now: ended, PR open, or awaiting a person."""
    progress: float = Field(ge=0, le=1)
    live: bool
    """Some job is not over (its PR may still merge): the page refreshes itself."""


class Categories(BaseModel):
    """The fleet owner's categories: no PR (and why), PR failed CI, merged, closed."""

    no_pr: int
    no_pr_reasons: dict[str, int]
    """reason code -> jobs, e.g. {"gate_vetoed": 2}."""
    pr_failed_ci: int
    merged: int
    closed: int
    pr_open: int
    awaiting_approval: int
    in_progress: int


class Vetoes(BaseModel):
    gate_runs: int
    guard_vetoes: int
    judge_runs: int
    """Gate runs in which the judge gave a verdict (it is skipped when not configured)."""
    judge_vetoes: int
    judge_veto_rate: float | None
    """judge_vetoes / judge_runs; None when the judge never ran."""
    vetoed_sessions: int
    """Agent sessions in which the guard or the judge vetoed at least once."""
    recovered_sessions: int
    """Of those, the sessions that went on to pass the gate."""


class Spend(BaseModel):
    input_tokens: int
    output_tokens: int
    total_tokens: int
    cost_usd: float
    max_tokens: int | None
    max_cost_usd: float | None
    jobs_started: int
    max_jobs: int | None


class JobLine(BaseModel):
    id: int
    name: str
    repo: str
    state: str
    outcome: str
    reason_code: str | None
    reason: str | None
    pull_request: str | None
    """The PR's URL."""
    ci: str | None
    updated_at: datetime
    freshness: str | None = None
    """The PR against its base: behind, rebased, conflicting (being redone), redone."""
    ci_verdict: str | None = None
    """CI triage's verdict on the PR's head: flaky, infrastructure, on_base."""
    pr_notes: list[str] = []
    """Both, as sentences."""


class CampaignDetail(BaseModel):
    campaign: CampaignOverview
    categories: Categories
    vetoes: Vetoes
    spend: Spend
    verdict: CampaignVerdict
    """The campaign as a whole: ok, failed or pending (`corral status` exits 0, 1 or 3)."""
    paused: str | None = None
    """Why the campaign admits no job now (paused by a person or its rollout; cancelled)."""
    pull_request_flags: dict[str, int] = {}
    """PRs behind, rebased, conflicting, redone; CI triage's flaky, infrastructure, on_base."""
    pull_request_notes: dict[str, str] = {}
    """What each flag means, as a sentence."""


class BurndownPoint(BaseModel):
    at: datetime
    merged: int
    open: int
    """PR open, or its CI failing."""
    ended: int
    """Ended without a merged PR: no PR, or the PR closed."""
    remaining: int
    """Still on its way (queued, changing, awaiting approval...)."""


class Burndown(BaseModel):
    total: int
    points: list[BurndownPoint]


class TimelineEntry(BaseModel):
    at: datetime
    kind: Literal["transition", "model_call", "tool_call", "gate", "verifier", "ci", "note"]
    session_id: int | None
    title: str
    detail: str | None = None
    ok: bool | None = None
    duration_s: float | None = None
    input_tokens: int | None = None
    output_tokens: int | None = None
    cost_usd: float | None = None


class Finding(BaseModel):
    stage: str
    file: str | None
    line: int | None
    message: str
    rule: str | None = None


class Stage(BaseModel):
    name: str
    ok: bool
    skipped: bool
    duration_s: float | None
    message: str


class Verdict(BaseModel):
    id: int
    at: datetime
    session_id: int | None
    ok: bool
    final: bool
    vetoed_by: str | None
    message: str
    stages: list[Stage]
    findings: list[Finding]


class JobDetail(BaseModel):
    job: JobLine
    campaign_id: int
    campaign: str
    base_sha: str | None
    head_sha: str | None
    branch: str | None
    awaiting_approval: bool
    sessions: list[Session]
    timeline: list[TimelineEntry]
    gate_verdicts: list[Verdict]
    approvals: list[Approval]
    feedback: list[Feedback]


DiffSource = Literal["commit", "working tree"]
FileStatus = Literal["added", "modified", "deleted", "renamed"]
LineKind = Literal["context", "added", "removed"]


class DiffLine(BaseModel):
    kind: LineKind
    old: int | None
    new: int | None
    text: str


class DiffHunk(BaseModel):
    header: str
    lines: list[DiffLine]


class DiffFile(BaseModel):
    path: str
    status: FileStatus
    added: int
    removed: int
    binary: bool
    hunks: list[DiffHunk]


class JobDiff(BaseModel):
    available: bool
    source: DiffSource | None
    """Where it came from: the job's commit, or its checkout's uncommitted change."""
    note: str
    patch: str
    files: list[DiffFile]


# Write actions


class ApproveRequest(BaseModel):
    by: str | None = Field(default=None, max_length=200)


class RejectRequest(BaseModel):
    reason: str = Field(min_length=1, max_length=4000)
    by: str | None = Field(default=None, max_length=200)


class PauseRequest(BaseModel):
    reason: str | None = Field(default=None, max_length=4000)
    by: str | None = Field(default=None, max_length=200)


class ResumeRequest(BaseModel):
    by: str | None = Field(default=None, max_length=200)


class CancelRequest(BaseModel):
    delete_branches: bool = False
    """Also delete the branches of the pull requests it closes."""
    by: str | None = Field(default=None, max_length=200)


class ControlResult(BaseModel):
    campaign: str
    paused: str | None
    note: str
    """What happened, in one line (the engine told, PRs closed...)."""


FeedbackVerdict = Literal["good", "bad", "unsure"]


class FeedbackRequest(BaseModel):
    verdict: FeedbackVerdict
    comment: str | None = Field(default=None, max_length=4000)
    by: str | None = Field(default=None, max_length=200)


class PlanProject(BaseModel):
    path: str
    verifier: str


class PlanRepo(BaseModel):
    name: str
    repo: str
    verdict: Literal["ready", "baseline_fails", "unsupported", "unreachable", "not_targeted"]
    reason: str | None
    projects: list[PlanProject]
    has_tests: bool | None
    baseline_ok: bool | None
    """Always null here: the dashboard does not run checks (`corral plan --baseline` does)."""


class PlanEstimate(BaseModel):
    jobs: int
    cost_usd_at_most: float | None
    cost_usd_expected: float | None
    duration_s_expected: float | None
    earlier_jobs: int


class CampaignPlanView(BaseModel):
    """`corral plan` of the campaign's stored spec: readiness per repository, as of now."""

    campaign: str
    ready: bool
    repos: list[PlanRepo]
    estimate: PlanEstimate


class PlanRequest(BaseModel):
    by: str | None = Field(default=None, max_length=200)
