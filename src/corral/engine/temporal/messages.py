"""What the workflows, the activities and the client pass each other (plain dataclasses, sent
through Temporal's pydantic data converter), and the names they agree on."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from corral.engine.temporal.settings import Pace
from corral.states import JobState
from corral.store.records import Approval, Job


@dataclass(frozen=True)
class CampaignRef:
    """A campaign as recorded in the store; workers check their store holds this very one."""

    id: int
    name: str

    @property
    def workflow_id(self) -> str:
        return f"corral-{self.name}-{self.id}"

    def job_workflow_id(self, job_id: int) -> str:
        return f"{self.workflow_id}-job-{job_id}"


@dataclass(frozen=True)
class CampaignInput:
    campaign: CampaignRef
    pace: Pace


@dataclass(frozen=True)
class JobInput:
    campaign: CampaignRef
    job_id: int
    spec: dict[str, Any]
    pace: Pace
    machine_queue: str | None = None
    """The machine holding the job's checkout, when the workflow continues as new."""


@dataclass(frozen=True)
class CampaignView:
    spec: dict[str, Any]
    live_jobs: list[int]
    """Jobs not in a terminal state, in id order."""
    pr_opened_at: list[datetime]
    """When the campaign's recent PRs were opened (within its rate-limit window)."""


@dataclass(frozen=True)
class AdmitRequest:
    campaign: CampaignRef
    job_ids: list[int]
    admitted_before: list[int]
    """Jobs this campaign run let start already (some may not have left `queued` yet)."""


@dataclass(frozen=True)
class StepRequest:
    campaign: CampaignRef
    job_id: int
    step: str
    from_state: JobState
    """The state the workflow decided on; a retry finding the job moved on runs nothing."""


@dataclass(frozen=True)
class StepsDone:
    """Where a chain of steps (`corral.run_steps`) left the job: the last step it ran, from
    which state (None when an earlier attempt had moved the job on and none ran)."""

    job: Job
    step: str | None
    before: JobState


@dataclass(frozen=True)
class JobView:
    job: Job
    approvals: list[Approval] = field(default_factory=list)


@dataclass(frozen=True)
class JobFailure:
    campaign: CampaignRef
    job_id: int
    reason: str


@dataclass(frozen=True)
class Progress:
    """The campaign workflow's jobs: running, held for a person, and not started yet."""

    active: list[int]
    parked: list[int]
    pending: list[int]

    @property
    def settled(self) -> bool:
        """Nothing runs or waits to run: every live job waits for a person."""
        return not self.active and not self.pending
