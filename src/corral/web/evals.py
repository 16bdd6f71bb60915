"""Eval runs in the dashboard: `/evals` (the list), `/evals/{id}` (one run's tasks), and
the same as JSON under `/api/evals`."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import BaseModel

from corral.evals.results import EvalRun
from corral.evals.store import StoredRun, stored_line
from corral.store import Store
from corral.web.api import Problem, settings_of, store_of
from corral.web.data import NotFoundError
from corral.web.pages import _page
from corral.web.settings import DashboardSettings

StoreDep = Annotated[Store, Depends(store_of)]
SettingsDep = Annotated[DashboardSettings, Depends(settings_of)]
EvalRunId = Annotated[int, Path(ge=1, le=2**62)]
_ERRORS: dict[int | str, dict[str, Any]] = {404: {"model": Problem, "description": "Not found"}}

api = APIRouter(prefix="/api", tags=["evals"])
pages = APIRouter(include_in_schema=False)


class EvalRunLine(BaseModel):
    id: int
    created_at: str
    suite: str
    label: str
    """Agent, model and judge."""
    runs: int
    right: int
    rate_right: float


def _lines(store: Store) -> list[StoredRun]:
    return [stored_line(record) for record in store.eval_runs()]


def _run(store: Store, run_id: int) -> EvalRun:
    record = store.eval_run(run_id)
    if record is None:
        raise NotFoundError(f"no eval run {run_id}")
    return EvalRun.from_json(record.data)


@api.get("/evals", response_model=list[EvalRunLine])
def list_eval_runs(store: StoreDep) -> list[EvalRunLine]:
    """Every stored eval run (`corral eval run`), newest first."""
    return [EvalRunLine(**line.to_json()) for line in _lines(store)]


@api.get("/evals/{run_id}", responses=_ERRORS)
def eval_run(run_id: EvalRunId, store: StoreDep) -> dict[str, Any]:
    """One eval run as `corral eval run --json` prints it: tasks and summary."""
    return _run(store, run_id).to_json()


@pages.get("/evals", response_class=HTMLResponse)
def evals_page(request: Request, store: StoreDep, settings: SettingsDep) -> Response:
    return _page(request, "evals.html", settings, runs=_lines(store))


@pages.get("/evals/{run_id}", response_class=HTMLResponse)
def eval_page(
    request: Request, run_id: EvalRunId, store: StoreDep, settings: SettingsDep
) -> Response:
    run = _run(store, run_id)
    return _page(request, "eval.html", settings, run_id=run_id, run=run, summary=run.summary)
