"""The HTML pages: campaigns, one campaign (live), one job; sign-in and the write forms."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from corral.engine.campaign import tell_engine
from corral.pipeline import jobs
from corral.states import JobState
from corral.store import Store
from corral.web import control, data, plans
from corral.web.api import CampaignId, JobId, settings_of, store_of
from corral.web.charts import burndown_svg
from corral.web.models import FeedbackRequest
from corral.web.security import (
    SESSION_COOKIE,
    WriteRefused,
    check_same_origin,
    form_user,
    page_session,
    signer_or_refuse,
)
from corral.web.settings import SESSION_MAX_AGE_S, DashboardSettings

templates = Jinja2Templates(directory=Path(__file__).parent / "templates")
router = APIRouter(include_in_schema=False)

StoreDep = Annotated[Store, Depends(store_of)]
SettingsDep = Annotated[DashboardSettings, Depends(settings_of)]
Csrf = Annotated[str | None, Form()]


def _page(request: Request, name: str, settings: DashboardSettings, **context: Any) -> Response:
    user, csrf = page_session(request, settings.token_value())
    return templates.TemplateResponse(
        request,
        name,
        {
            "user": user,
            "csrf": csrf,
            "writable": settings.token is not None,
            "refresh_s": settings.refresh_s,
            **context,
        },
    )


@router.get("/", response_class=HTMLResponse)
def campaigns_page(request: Request, store: StoreDep, settings: SettingsDep) -> Response:
    return _page(request, "campaigns.html", settings, campaigns=data.campaign_overviews(store))


@router.get("/campaigns/{campaign_id}", response_class=HTMLResponse)
def campaign_page(
    request: Request,
    campaign_id: CampaignId,
    store: StoreDep,
    settings: SettingsDep,
    state: Annotated[JobState | None, Query()] = None,
    page: Annotated[int, Query(ge=1)] = 1,
) -> Response:
    context = _campaign_context(store, campaign_id, state, page)
    return _page(request, "campaign.html", settings, **context)


@router.get("/campaigns/{campaign_id}/live", response_class=HTMLResponse)
def campaign_live(
    request: Request,
    campaign_id: CampaignId,
    store: StoreDep,
    settings: SettingsDep,
    state: Annotated[JobState | None, Query()] = None,
    page: Annotated[int, Query(ge=1)] = 1,
) -> Response:
    """The part of the campaign page that refreshes itself (htmx polls it)."""
    context = _campaign_context(store, campaign_id, state, page)
    return _page(request, "_campaign_live.html", settings, **context)


@router.get("/campaigns/{campaign_id}/burndown.svg")
def burndown_image(campaign_id: CampaignId, store: StoreDep) -> Response:
    return Response(burndown_svg(data.burndown(store, campaign_id)), media_type="image/svg+xml")


JOBS_PER_PAGE = 200


def _campaign_context(
    store: Store, campaign_id: int, state: JobState | None, page: int = 1
) -> dict[str, Any]:
    detail = data.campaign_detail(store, campaign_id)
    filters = {"state": state.value} if state else {}
    query = f"?{urlencode({**filters, 'page': page})}"
    offset = (page - 1) * JOBS_PER_PAGE
    jobs = data.job_lines(store, campaign_id, state, limit=JOBS_PER_PAGE + 1, offset=offset)
    return {
        "detail": detail,
        "jobs": jobs[:JOBS_PER_PAGE],
        "page": page,
        "first_job": offset + 1,
        "previous_page": f"?{urlencode({**filters, 'page': page - 1})}" if page > 1 else None,
        "next_page": (
            f"?{urlencode({**filters, 'page': page + 1})}" if len(jobs) > JOBS_PER_PAGE else None
        ),
        "state": state,
        "states": [s.value for s in JobState],
        "chart": burndown_svg(data.burndown(store, campaign_id)),
        "live_url": f"/campaigns/{campaign_id}/live{query}",
    }


@router.get("/jobs/{job_id}", response_class=HTMLResponse)
def job_page(request: Request, job_id: JobId, store: StoreDep, settings: SettingsDep) -> Response:
    detail = data.job_detail(store, job_id)
    diff = data.job_diff(data.find_job(store, job_id))
    return _page(request, "job.html", settings, detail=detail, diff=diff)


@router.get("/jobs/{job_id}/live", response_class=HTMLResponse)
def job_live(request: Request, job_id: JobId, store: StoreDep, settings: SettingsDep) -> Response:
    return _page(request, "_job_live.html", settings, detail=data.job_detail(store, job_id))


# Writes from the pages: signed session + CSRF token + same origin (see security.py).


@router.post("/jobs/{job_id}/approve")
def approve_form(
    request: Request, job_id: JobId, store: StoreDep, settings: SettingsDep, csrf_token: Csrf = None
) -> Response:
    by = form_user(request, settings.token_value(), csrf_token)
    data.find_job(store, job_id)
    jobs.approve(store, job_id, hook=tell_engine, by=by)
    return _back_to_job(job_id)


@router.post("/jobs/{job_id}/reject")
def reject_form(
    request: Request,
    job_id: JobId,
    store: StoreDep,
    settings: SettingsDep,
    reason: Annotated[str, Form(min_length=1, max_length=4000)],
    csrf_token: Csrf = None,
) -> Response:
    by = form_user(request, settings.token_value(), csrf_token)
    data.find_job(store, job_id)
    jobs.reject(store, job_id, reason, hook=tell_engine, by=by)
    return _back_to_job(job_id)


@router.post("/campaigns/{campaign_id}/pause")
def pause_form(
    request: Request,
    campaign_id: CampaignId,
    store: StoreDep,
    settings: SettingsDep,
    csrf_token: Csrf = None,
) -> Response:
    by = form_user(request, settings.token_value(), csrf_token)
    control.pause(store, campaign_id, by, None)
    return _back_to_campaign(campaign_id)


@router.post("/campaigns/{campaign_id}/resume")
def resume_form(
    request: Request,
    campaign_id: CampaignId,
    store: StoreDep,
    settings: SettingsDep,
    csrf_token: Csrf = None,
) -> Response:
    form_user(request, settings.token_value(), csrf_token)
    control.resume(store, campaign_id)
    return _back_to_campaign(campaign_id)


@router.post("/campaigns/{campaign_id}/cancel")
def cancel_form(
    request: Request,
    campaign_id: CampaignId,
    store: StoreDep,
    settings: SettingsDep,
    delete_branches: Annotated[bool, Form()] = False,
    csrf_token: Csrf = None,
) -> Response:
    by = form_user(request, settings.token_value(), csrf_token)
    control.cancel(store, campaign_id, by, delete_branches)
    return _back_to_campaign(campaign_id)


@router.get("/campaigns/{campaign_id}/plan", response_class=HTMLResponse)
def plan_page(
    request: Request, campaign_id: CampaignId, store: StoreDep, settings: SettingsDep
) -> Response:
    """The plan's page: a button that looks at the repositories (it clones them, so only
    with the token)."""
    campaign = data.find_campaign(store, campaign_id)
    return _page(request, "plan.html", settings, campaign=campaign, plan=None)


@router.post("/campaigns/{campaign_id}/plan", response_class=HTMLResponse)
def plan_form(
    request: Request,
    campaign_id: CampaignId,
    store: StoreDep,
    settings: SettingsDep,
    csrf_token: Csrf = None,
) -> Response:
    form_user(request, settings.token_value(), csrf_token)
    campaign = data.find_campaign(store, campaign_id)
    made = plans.campaign_plan(store, campaign_id)
    return _page(request, "plan.html", settings, campaign=campaign, plan=made)


def _back_to_campaign(campaign_id: int) -> Response:
    return RedirectResponse(f"/campaigns/{campaign_id}", status_code=303)


@router.post("/jobs/{job_id}/feedback")
def feedback_form(
    request: Request,
    job_id: JobId,
    store: StoreDep,
    settings: SettingsDep,
    verdict: Annotated[str, Form()],
    comment: Annotated[str, Form(max_length=4000)] = "",
    csrf_token: Csrf = None,
) -> Response:
    by = form_user(request, settings.token_value(), csrf_token)
    data.find_job(store, job_id)
    checked = FeedbackRequest.model_validate({"verdict": verdict, "comment": comment or None})
    store.add_feedback(job_id, checked.verdict, by, checked.comment)
    return _back_to_job(job_id)


def _back_to_job(job_id: int) -> Response:
    return RedirectResponse(f"/jobs/{job_id}", status_code=303)


@router.get("/login", response_class=HTMLResponse)
def login_page(request: Request, settings: SettingsDep, next: str = "/") -> Response:
    return _page(request, "login.html", settings, next=_local(next), error=None)


@router.post("/login")
def login(
    request: Request,
    settings: SettingsDep,
    token: Annotated[str, Form()],
    name: Annotated[str, Form(min_length=1, max_length=200)] = "dashboard",
    next: Annotated[str, Form()] = "/",
) -> Response:
    check_same_origin(request)
    signer = signer_or_refuse(settings.token_value())
    if not signer.matches(token):
        raise WriteRefused(401, "wrong dashboard token")
    response = RedirectResponse(_local(next), status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        signer.new_session(name.strip() or "dashboard"),
        max_age=SESSION_MAX_AGE_S,
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
    )
    return response


@router.post("/logout")
def logout(request: Request) -> Response:
    check_same_origin(request)
    response = RedirectResponse("/", status_code=303)
    response.delete_cookie(SESSION_COOKIE)
    return response


def _local(target: str) -> str:
    """Only paths on this site: a sign-in must not send anyone elsewhere."""
    return target if target.startswith("/") and not target.startswith("//") else "/"
