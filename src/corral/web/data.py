"""The dashboard's data, computed from the store: what the API returns and the pages show.

Plain functions of a `Store` (no web types), so the same numbers can be had from Python.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from corral.pipeline.summary import PR_NOTES, pr_notes, verdict_of
from corral.pipeline.summary import JobLine as SummaryLine
from corral.spec import CampaignSpec
from corral.states import TERMINAL, JobState, Outcome, outcome_of
from corral.store import Store, StoreError
from corral.store import records as r
from corral.web import models as v
from corral.web.diffs import job_diff

__all__ = [
    "burndown",
    "campaign_detail",
    "campaign_overview",
    "campaign_overviews",
    "job_detail",
    "job_diff",
    "job_lines",
]

SETTLED = TERMINAL | {JobState.PR_OPEN, JobState.CI_FAILED, JobState.AWAITING_APPROVAL}
"""Nothing more for corral to do now: the job waits for a person, review or CI, or is over."""
_OPEN = frozenset({JobState.PR_OPEN, JobState.CI_FAILED})
_ENDED = frozenset({JobState.FAILED, JobState.SKIPPED, JobState.CLOSED})


class NotFoundError(StoreError):
    """No campaign or job by that id."""


def find_campaign(store: Store, campaign_id: int) -> r.Campaign:
    campaign = store.campaign(campaign_id)
    if campaign is None:
        raise NotFoundError(f"no campaign {campaign_id}")
    return campaign


def find_job(store: Store, job_id: int) -> r.Job:
    try:
        return store.job(job_id)
    except StoreError as exc:
        raise NotFoundError(str(exc)) from exc


# Campaigns


JobCounts = Mapping[tuple[JobState, str | None], int]
"""How many jobs are in each (state, reason code): what the store counts for summaries."""


def campaign_overviews(store: Store) -> list[v.CampaignOverview]:
    return [_overview(c, store.job_counts(c.id)) for c in reversed(store.campaigns())]


def campaign_overview(store: Store, campaign_id: int) -> v.CampaignOverview:
    campaign = find_campaign(store, campaign_id)
    return _overview(campaign, store.job_counts(campaign.id))


def _overview(campaign: r.Campaign, counts: JobCounts) -> v.CampaignOverview:
    outcomes: Counter[str] = Counter()
    for (state, _), n in counts.items():
        outcomes[str(outcome_of(state))] += n
    total = sum(counts.values())
    settled = sum(n for (state, _), n in counts.items() if state in SETTLED)
    return v.CampaignOverview(
        id=campaign.id,
        name=campaign.name,
        created_at=campaign.created_at,
        jobs=total,
        counts=dict(outcomes.most_common()),
        settled=settled,
        progress=settled / total if total else 1.0,
        live=any(state not in TERMINAL for (state, _), n in counts.items() if n),
    )


def campaign_detail(store: Store, campaign_id: int) -> v.CampaignDetail:
    campaign = find_campaign(store, campaign_id)
    counts = store.job_counts(campaign.id)
    return v.CampaignDetail(
        campaign=_overview(campaign, counts),
        categories=_categories(counts),
        vetoes=vetoes(store.campaign_gate_verdicts(campaign.id), store.sessions_passed),
        spend=_spend(store, campaign),
        verdict=verdict_of(counts),
        paused=campaign.paused,
        pull_request_flags=store.pr_flag_counts(campaign.id),
        pull_request_notes=PR_NOTES,
    )


def _categories(counts: JobCounts) -> v.Categories:
    outcomes: Counter[Outcome] = Counter()
    reasons: Counter[str] = Counter()
    for (state, reason), n in counts.items():
        outcomes[outcome_of(state)] += n
        if outcome_of(state) == Outcome.NO_PR:
            reasons[reason or "unknown"] += n
    return v.Categories(
        no_pr=outcomes[Outcome.NO_PR],
        no_pr_reasons=dict(reasons.most_common()),
        pr_failed_ci=outcomes[Outcome.PR_FAILED_CI],
        merged=outcomes[Outcome.MERGED],
        closed=outcomes[Outcome.CLOSED],
        pr_open=outcomes[Outcome.PR_OPEN],
        awaiting_approval=outcomes[Outcome.AWAITING_APPROVAL],
        in_progress=outcomes[Outcome.IN_PROGRESS],
    )


def vetoes(
    verdicts: Sequence[r.GateVerdict], passed: Callable[[Collection[int]], set[int]]
) -> v.Vetoes:
    """Veto counts over a campaign's gate runs (a stage that could not run is no veto);
    `passed(ids)` says which of those sessions ended passing."""
    by = [vetoed_by(verdict.stages) for verdict in verdicts]
    judge_runs = sum(_judge_ran(verdict.stages) for verdict in verdicts)
    judge_vetoes = by.count("judge")
    vetoed = {
        verdict.session_id
        for verdict, stage in zip(verdicts, by, strict=True)
        if stage is not None and verdict.session_id is not None
    }
    recovered = passed(vetoed) if vetoed else set()
    return v.Vetoes(
        gate_runs=len(verdicts),
        guard_vetoes=by.count("guard"),
        judge_runs=judge_runs,
        judge_vetoes=judge_vetoes,
        judge_veto_rate=judge_vetoes / judge_runs if judge_runs else None,
        vetoed_sessions=len(vetoed),
        recovered_sessions=len(recovered),
    )


def vetoed_by(stages: Iterable[dict[str, Any]]) -> str | None:
    """ "guard" or "judge" when that stage refused the change, else None."""
    failed = next((s for s in stages if not s.get("ok")), None)
    if failed is None or failed.get("name") not in ("guard", "judge"):
        return None
    if (failed.get("details") or {}).get("could_not_run"):
        return None
    return str(failed["name"])


def _judge_ran(stages: Iterable[dict[str, Any]]) -> bool:
    judge = next((s for s in stages if s.get("name") == "judge"), None)
    if judge is None or judge.get("skipped"):
        return False
    return not (judge.get("details") or {}).get("could_not_run")


def _spend(store: Store, campaign: r.Campaign) -> v.Spend:
    usage = store.campaign_usage(campaign.id)
    budget = CampaignSpec.model_validate(campaign.spec).budgets.campaign
    return v.Spend(
        input_tokens=usage.input_tokens,
        output_tokens=usage.output_tokens,
        total_tokens=usage.total_tokens,
        cost_usd=usage.cost_usd,
        max_tokens=budget.max_tokens,
        max_cost_usd=budget.max_cost_usd,
        jobs_started=store.jobs_started(campaign.id),
        max_jobs=budget.max_jobs,
    )


def job_lines(
    store: Store,
    campaign_id: int,
    state: JobState | None = None,
    *,
    limit: int | None = None,
    offset: int = 0,
) -> list[v.JobLine]:
    """The campaign's repositories (in one state, one page of them, when asked)."""
    campaign = find_campaign(store, campaign_id)
    jobs = store.jobs(campaign.id, state=state, limit=limit, offset=offset)
    prs = store.pull_requests_by_job(campaign.id, [job.id for job in jobs])
    return [_line(SummaryLine(job, prs.get(job.id))) for job in jobs]


def _line(line: SummaryLine) -> v.JobLine:
    job, pr = line.job, line.pull_request
    return v.JobLine(
        id=job.id,
        name=job.name,
        repo=job.repo,
        state=str(job.state),
        outcome=str(job.outcome),
        reason_code=job.reason_code,
        reason=job.reason,
        pull_request=pr.url if pr else None,
        ci=pr.ci.state if pr else None,
        updated_at=job.updated_at,
        freshness=job.freshness,
        ci_verdict=job.ci_verdict,
        pr_notes=pr_notes(job),
    )


def burndown(store: Store, campaign_id: int) -> v.Burndown:
    """After each transition: how many jobs are merged, have a PR open, ended without a
    merged PR, or remain. The last point is now while corral still works on some job."""
    campaign = find_campaign(store, campaign_id)
    states: dict[int, JobState] = {}
    buckets: Counter[str] = Counter()
    points: list[v.BurndownPoint] = []
    for job_id, to_state, at in store.campaign_state_changes(campaign.id):
        previous = states.get(job_id)
        if previous is not None:
            buckets[_bucket(previous)] -= 1
        states[job_id] = to_state
        buckets[_bucket(to_state)] += 1
        point = _point(at, buckets)
        if points and points[-1].at == point.at:
            points[-1] = point
        elif not points or _counts(points[-1]) != _counts(point):
            points.append(point)
    if points and any(state not in SETTLED for state in states.values()):
        points.append(_point(max(datetime.now(UTC), points[-1].at), buckets))
    return v.Burndown(total=len(states), points=_thinned(points))


MAX_BURNDOWN_POINTS = 500
"""A chart needs no more; a campaign of thousands of jobs makes tens of thousands."""


def _thinned(points: list[v.BurndownPoint]) -> list[v.BurndownPoint]:
    """At most MAX_BURNDOWN_POINTS, evenly spread, the first and the last kept."""
    if len(points) <= MAX_BURNDOWN_POINTS:
        return points
    step = (len(points) - 1) / (MAX_BURNDOWN_POINTS - 1)
    return [points[round(i * step)] for i in range(MAX_BURNDOWN_POINTS)]


def _point(at: datetime, counts: Mapping[str, int]) -> v.BurndownPoint:
    return v.BurndownPoint(
        at=at,
        merged=counts["merged"],
        open=counts["open"],
        ended=counts["ended"],
        remaining=counts["remaining"],
    )


def _bucket(state: JobState) -> str:
    if state == JobState.MERGED:
        return "merged"
    if state in _OPEN:
        return "open"
    return "ended" if state in _ENDED else "remaining"


def _counts(point: v.BurndownPoint) -> tuple[int, int, int, int]:
    return point.merged, point.open, point.ended, point.remaining


# Jobs


def job_detail(store: Store, job_id: int) -> v.JobDetail:
    job = find_job(store, job_id)
    campaign = find_campaign(store, job.campaign_id)
    return v.JobDetail(
        job=_line(SummaryLine(job, store.pull_request_for_job(job.id))),
        campaign_id=campaign.id,
        campaign=campaign.name,
        base_sha=job.base_sha,
        head_sha=job.head_sha,
        branch=job.branch,
        awaiting_approval=job.state == JobState.AWAITING_APPROVAL,
        sessions=store.sessions(job.id),
        timeline=timeline(store, job.id),
        gate_verdicts=[_verdict(verdict) for verdict in store.gate_verdicts(job.id)],
        approvals=store.approvals(job.id),
        feedback=store.feedback(job.id),
    )


def timeline(store: Store, job_id: int) -> list[v.TimelineEntry]:
    """Transitions, baseline verifier runs, and every recorded call and gate run, by time."""
    entries = [_transition_entry(t) for t in store.transitions(job_id)]
    entries += [_verifier_entry(run) for run in store.verifier_runs(job_id)]
    entries += [_event_entry(event) for event in store.events(job_id)]
    return sorted(entries, key=lambda entry: entry.at)


def _transition_entry(t: r.Transition) -> v.TimelineEntry:
    return v.TimelineEntry(
        at=t.at,
        kind="transition",
        session_id=None,
        title=f"{t.from_state or 'created'} → {t.to_state}",
        detail=t.reason,
    )


def _verifier_entry(run: r.VerifierRun) -> v.TimelineEntry:
    tests = run.tests or {}
    counts = f", {tests.get('run', 0)} tests" if tests else ""
    return v.TimelineEntry(
        at=run.at,
        kind="verifier",
        session_id=run.session_id,
        title=f"{run.phase} verifier {run.name} in {run.project}{counts}",
        detail="\n".join(_finding_text(f) for f in run.findings) or None,
        ok=run.ok,
        duration_s=run.duration_s,
    )


def _event_entry(event: r.Event) -> v.TimelineEntry:
    data = event.data
    kind = event.kind if event.kind in ("model_call", "tool_call", "gate", "ci") else "note"
    usage = data.get("usage") if event.kind == "model_call" else None
    usage = usage if isinstance(usage, dict) else {}
    return v.TimelineEntry(
        at=event.at,
        kind=kind,  # type: ignore[arg-type]
        session_id=event.session_id,
        title=_event_title(event.kind, data),
        detail=_event_detail(event.kind, data),
        ok=_event_ok(event.kind, data),
        duration_s=_number(data.get("duration_s") or data.get("elapsed_s")),
        input_tokens=usage.get("input_tokens"),
        output_tokens=usage.get("output_tokens"),
        cost_usd=_number(usage.get("cost_usd")),
    )


def _event_title(kind: str, data: dict[str, Any]) -> str:
    if kind == "model_call":
        calls = ", ".join(
            c.get("name", "?") for c in (data.get("reply") or {}).get("tool_calls", [])
        )
        return f"model call, turn {data.get('turn')}" + (f" → {calls}" if calls else "")
    if kind == "tool_call":
        return f"tool {data.get('name')}" + (
            f" (exit {data['exit_code']})" if data.get("exit_code") is not None else ""
        )
    if kind == "gate":
        verdict = "passed" if data.get("ok") else "failed"
        stage = f" at {data['failed_stage']}" if data.get("failed_stage") else ""
        return f"gate {verdict}{stage}"
    if kind == "ci":
        return f"CI {data.get('state')}"
    return str(data.get("event") or kind)


def _event_detail(kind: str, data: dict[str, Any]) -> str | None:
    if kind == "model_call":
        reply = data.get("reply") or {}
        return _clip(str(reply.get("text") or data.get("error") or "")) or None
    if kind == "tool_call":
        arguments = data.get("arguments") or {}
        shown = arguments.get("argv") if isinstance(arguments, dict) else None
        text = " ".join(shown) if isinstance(shown, list) else str(arguments)
        output = data.get("result") or data.get("stderr") or data.get("stdout") or ""
        return _clip(f"{text}\n{output}".strip()) or None
    if kind in ("gate", "ci"):
        return _clip(str(data.get("message") or data.get("summary") or "")) or None
    reason = data.get("reason") or data.get("status")
    return _clip(str(reason)) if reason else None


def _event_ok(kind: str, data: dict[str, Any]) -> bool | None:
    if kind == "gate":
        return bool(data.get("ok"))
    if kind == "tool_call":
        return not data.get("is_error")
    if kind == "ci":
        return {"passed": True, "failed": False}.get(str(data.get("state")))
    if kind == "model_call":
        return "error" not in data
    return None


def _verdict(verdict: r.GateVerdict) -> v.Verdict:
    return v.Verdict(
        id=verdict.id,
        at=verdict.at,
        session_id=verdict.session_id,
        ok=verdict.ok,
        final=verdict.final,
        vetoed_by=vetoed_by(verdict.stages),
        message=verdict.message,
        stages=[
            v.Stage(
                name=str(s.get("name")),
                ok=bool(s.get("ok")),
                skipped=bool(s.get("skipped")),
                duration_s=_number(s.get("duration_s")),
                message=str(s.get("message", "")),
            )
            for s in verdict.stages
        ],
        findings=[f for stage in verdict.stages for f in _stage_findings(stage)],
    )


def _stage_findings(stage: dict[str, Any]) -> list[v.Finding]:
    """Each stage's own findings: verifier findings, guard vetoes, the judge's reasons."""
    name = str(stage.get("name"))
    details = stage.get("details") or {}
    if name == "verifiers":
        return [
            v.Finding(stage=name, file=f.get("file"), line=f.get("line"), message=f["message"])
            for run in details.get("verifiers", [])
            for f in run.get("findings", [])
        ]
    if name == "guard":
        return [
            v.Finding(
                stage=name,
                file=f.get("file"),
                line=f.get("line"),
                message=f["message"],
                rule=f.get("rule"),
            )
            for f in details.get("vetoes", [])
        ]
    if name == "judge" and details.get("verdict") == "veto":
        reasons = [*details.get("reasons", []), *details.get("out_of_scope", [])]
        return [v.Finding(stage=name, file=None, line=None, message=str(m)) for m in reasons]
    if details.get("could_not_run"):
        return [v.Finding(stage=name, file=None, line=None, message=str(stage.get("message")))]
    return []


def _finding_text(finding: dict[str, Any]) -> str:
    where = ":".join(str(p) for p in (finding.get("file"), finding.get("line")) if p)
    return f"{where}: {finding.get('message')}" if where else str(finding.get("message"))


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) else None


def _clip(text: str, limit: int = 2000) -> str:
    text = text.strip()
    return text if len(text) <= limit else text[: limit - 1] + "…"
