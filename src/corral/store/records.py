"""What the store returns: plain frozen dataclasses, never ORM objects, so callers hold no
database session and can pass records between threads."""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any

from corral.states import JobState, Outcome, outcome_of


@dataclass(frozen=True)
class Campaign:
    id: int
    name: str
    spec: dict[str, Any]
    created_at: datetime
    engine: dict[str, Any] | None = None
    """The engine that last ran the campaign and how to reach it (name, address...: never a
    secret), so a decision made on any surface can wake that engine."""
    paused: str | None = None
    """Why the campaign admits no job now (a person paused it, or its rollout did), or None."""
    waves_released: int = 0
    """With `rollout.approve_waves`: how many waves after the canary a person let start."""
    resumed_at: datetime | None = None
    """When a person last resumed it: a rollout's failure rate counts jobs settled since."""


@dataclass(frozen=True)
class Lease:
    """Who holds a campaign's lease: a run on `host`, process `pid`, since `acquired_at`."""

    campaign: str
    token: str
    host: str
    pid: int
    acquired_at: datetime
    heartbeat_at: datetime


UNSET: Any = type("Unset", (), {"__repr__": lambda self: "UNSET"})()
"""A JobFacts field not given: the stored value stays."""


@dataclass(frozen=True)
class JobFacts:
    """Facts about a job's checkout and branch that a step stores with the job's next state,
    in the same transaction (Store.transition): either both are stored or neither."""

    base_branch: str | None = UNSET
    base_sha: str | None = UNSET
    head_sha: str | None = UNSET
    branch: str | None = UNSET
    checkout: str | None = UNSET
    ci_rounds: int = UNSET
    gated_tree: str | None = UNSET
    freshness: str | None = UNSET
    ci_verdict: str | None = UNSET
    refreshed_at: datetime | None = UNSET

    def given(self) -> dict[str, Any]:
        return {
            f.name: getattr(self, f.name)
            for f in fields(self)
            if getattr(self, f.name) is not UNSET
        }


@dataclass(frozen=True)
class Job:
    id: int
    campaign_id: int
    name: str
    repo: str
    workspace: str | None
    state: JobState
    reason: str | None
    reason_code: str | None
    base_branch: str | None
    base_sha: str | None
    head_sha: str | None
    branch: str | None
    checkout: str | None
    ci_rounds: int
    gated_tree: str | None
    created_at: datetime
    updated_at: datetime
    freshness: str | None = None
    """The PR against its base branch: behind, rebased, conflicting (being redone), redone."""
    ci_verdict: str | None = None
    """CI triage's verdict on the PR's head: flaky, infrastructure, on_base."""
    refreshed_at: datetime | None = None

    @property
    def outcome(self) -> Outcome:
        return outcome_of(self.state)


@dataclass(frozen=True)
class Transition:
    id: int
    job_id: int
    from_state: JobState | None
    to_state: JobState
    reason: str | None
    reason_code: str | None
    at: datetime


@dataclass(frozen=True)
class Session:
    id: int
    job_id: int
    agent: str
    purpose: str
    status: str | None
    reason: str | None
    turns: int
    input_tokens: int
    output_tokens: int
    cost_usd: float
    started_at: datetime
    ended_at: datetime | None


@dataclass(frozen=True)
class Event:
    id: int
    job_id: int
    session_id: int | None
    kind: str
    data: dict[str, Any]
    at: datetime


@dataclass(frozen=True)
class VerifierRun:
    id: int
    job_id: int
    session_id: int | None
    phase: str
    name: str
    project: str
    ok: bool
    duration_s: float
    findings: list[dict[str, Any]]
    tests: dict[str, Any] | None
    at: datetime


@dataclass(frozen=True)
class GateVerdict:
    id: int
    job_id: int
    session_id: int | None
    ok: bool
    message: str
    stages: list[dict[str, Any]]
    final: bool
    at: datetime


@dataclass(frozen=True)
class Approval:
    id: int
    job_id: int
    decision: str
    head_sha: str | None
    by: str
    reason: str | None
    at: datetime


@dataclass(frozen=True)
class Feedback:
    id: int
    job_id: int
    verdict: str
    comment: str | None
    by: str
    at: datetime


@dataclass(frozen=True)
class EvalRunRecord:
    """A stored eval run: its summary columns and its whole JSON."""

    id: int
    suite: str
    agent: str
    model: str | None
    judge: str | None
    runs: int
    right: int
    data: dict[str, Any]
    created_at: datetime


@dataclass(frozen=True)
class Notification:
    """One webhook delivery: what was sent where (the host only: a URL may be a secret)."""

    id: int
    campaign_id: int
    job_id: int | None
    event: str
    target: str
    ok: bool
    attempts: int
    detail: str | None
    at: datetime
