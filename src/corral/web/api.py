"""The JSON API under /api: the dashboard's data, and its write actions (bearer token)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel

from corral.engine.campaign import tell_engine
from corral.pipeline import jobs
from corral.states import JobState
from corral.store import Store
from corral.store.records import Approval, Feedback
from corral.web import control, data, plans
from corral.web import models as v
from corral.web.security import Signer, WriteRefused, signer_or_refuse
from corral.web.settings import DashboardSettings


class Problem(BaseModel):
    detail: str


_ERRORS: dict[int | str, dict[str, Any]] = {404: {"model": Problem, "description": "Not found"}}
_WRITE_ERRORS: dict[int | str, dict[str, Any]] = {
    **_ERRORS,
    401: {"model": Problem, "description": "No or wrong dashboard token"},
    403: {"model": Problem, "description": "The dashboard is read-only (no token set)"},
    409: {"model": Problem, "description": "The job is not awaiting approval"},
}

_bearer = HTTPBearer(auto_error=False, description="The dashboard token (CORRAL_DASHBOARD_TOKEN)")

CampaignId = Annotated[int, Path(ge=1, le=2**62)]
JobId = Annotated[int, Path(ge=1, le=2**62)]


def store_of(request: Request) -> Store:
    store: Store = request.app.state.store
    return store


def settings_of(request: Request) -> DashboardSettings:
    settings: DashboardSettings = request.app.state.settings
    return settings


def api_writer(
    settings: Annotated[DashboardSettings, Depends(settings_of)],
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Signer:
    signer = signer_or_refuse(settings.token_value())
    if credentials is None or not signer.matches(credentials.credentials):
        raise WriteRefused(401, "a write needs the dashboard token: Authorization: Bearer <token>")
    return signer


StoreDep = Annotated[Store, Depends(store_of)]
Writer = Annotated[Signer, Depends(api_writer)]

router = APIRouter(prefix="/api", tags=["api"])


@router.get("/campaigns", response_model=list[v.CampaignOverview])
def list_campaigns(store: StoreDep) -> list[v.CampaignOverview]:
    """Every campaign, newest first, with its outcome counts and progress."""
    return data.campaign_overviews(store)


@router.get("/campaigns/{campaign_id}", response_model=v.CampaignDetail, responses=_ERRORS)
def get_campaign(campaign_id: CampaignId, store: StoreDep) -> v.CampaignDetail:
    """Outcomes by category, the guard's and judge's vetoes, and spend against the budget."""
    return data.campaign_detail(store, campaign_id)


@router.get("/campaigns/{campaign_id}/jobs", response_model=list[v.JobLine], responses=_ERRORS)
def list_jobs(
    campaign_id: CampaignId,
    store: StoreDep,
    state: Annotated[JobState | None, Query(description="Only jobs in this state.")] = None,
    limit: Annotated[int, Query(ge=1, le=1000, description="At most this many jobs.")] = 200,
    offset: Annotated[int, Query(ge=0, description="Skip this many jobs first (by id).")] = 0,
) -> list[v.JobLine]:
    """The campaign's repositories: state, reason and pull request, by id, a page at a time."""
    return data.job_lines(store, campaign_id, state, limit=limit, offset=offset)


@router.get("/campaigns/{campaign_id}/burndown", response_model=v.Burndown, responses=_ERRORS)
def get_burndown(campaign_id: CampaignId, store: StoreDep) -> v.Burndown:
    """Jobs merged, with a PR open, ended, and remaining, after each change of state."""
    return data.burndown(store, campaign_id)


@router.get("/jobs/{job_id}", response_model=v.JobDetail, responses=_ERRORS)
def get_job(job_id: JobId, store: StoreDep) -> v.JobDetail:
    """The job's timeline (calls, tool runs, verifiers, gate verdicts), findings, decisions."""
    return data.job_detail(store, job_id)


@router.get("/jobs/{job_id}/diff", response_model=v.JobDiff, responses=_ERRORS)
def get_job_diff(job_id: JobId, store: StoreDep) -> v.JobDiff:
    """The job's change as a unified diff, and parsed into files, hunks and lines."""
    return data.job_diff(data.find_job(store, job_id))


@router.post("/jobs/{job_id}/approve", response_model=Approval, responses=_WRITE_ERRORS)
def approve_job(job_id: JobId, body: v.ApproveRequest, store: StoreDep, _: Writer) -> Approval:
    """Approve a held job's diff; the engine pushes it and opens the PR."""
    data.find_job(store, job_id)
    return jobs.approve(store, job_id, hook=tell_engine, by=body.by or "api").approval


@router.post("/jobs/{job_id}/reject", response_model=Approval, responses=_WRITE_ERRORS)
def reject_job(job_id: JobId, body: v.RejectRequest, store: StoreDep, _: Writer) -> Approval:
    """Reject a held job's diff; it ends without a PR."""
    data.find_job(store, job_id)
    return jobs.reject(store, job_id, body.reason, hook=tell_engine, by=body.by or "api").approval


@router.post(
    "/campaigns/{campaign_id}/pause", response_model=v.ControlResult, responses=_WRITE_ERRORS
)
def pause_campaign(
    campaign_id: CampaignId, body: v.PauseRequest, store: StoreDep, _: Writer
) -> v.ControlResult:
    """Admit no job any more (jobs under way go on to their PR or their wait)."""
    return control.pause(store, campaign_id, body.by or "api", body.reason)


@router.post(
    "/campaigns/{campaign_id}/resume", response_model=v.ControlResult, responses=_WRITE_ERRORS
)
def resume_campaign(
    campaign_id: CampaignId, body: v.ResumeRequest, store: StoreDep, _: Writer
) -> v.ControlResult:
    """Admit jobs again (the next wave, with approve_waves) and wake the campaign's engine."""
    return control.resume(store, campaign_id)


@router.post(
    "/campaigns/{campaign_id}/cancel", response_model=v.ControlResult, responses=_WRITE_ERRORS
)
def cancel_campaign(
    campaign_id: CampaignId, body: v.CancelRequest, store: StoreDep, _: Writer
) -> v.ControlResult:
    """End the campaign: every job not done ends; every open PR is closed with a comment."""
    return control.cancel(store, campaign_id, body.by or "api", body.delete_branches)


@router.post(
    "/campaigns/{campaign_id}/plan",
    response_model=v.CampaignPlanView,
    responses={
        **_ERRORS,
        401: _WRITE_ERRORS[401],
        403: _WRITE_ERRORS[403],
        409: {"model": Problem, "description": "The targets cannot be found (forge, token)"},
    },
)
def plan_campaign(
    campaign_id: CampaignId, body: v.PlanRequest, store: StoreDep, _: Writer
) -> v.CampaignPlanView:
    """`corral plan` of the campaign's stored spec: each target cloned shallowly and looked
    at now (projects, verifiers, tests; has_file filters), with the cost estimate. It clones
    every target, so it needs the token; it runs no check (no baseline)."""
    return plans.campaign_plan(store, campaign_id)


@router.post(
    "/jobs/{job_id}/feedback",
    response_model=Feedback,
    status_code=201,
    responses=_WRITE_ERRORS,
)
def give_feedback(job_id: JobId, body: v.FeedbackRequest, store: StoreDep, _: Writer) -> Feedback:
    """Record a person's verdict on the job's change (kept with the job, for the evals)."""
    data.find_job(store, job_id)
    return store.add_feedback(job_id, body.verdict, body.by or "api", body.comment or None)
