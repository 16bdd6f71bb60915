"""The job state machine of shared/DESIGN.md: from a job's stored state, the next step.

`decide` is pure (the stored job, the campaign's spec, the job's approvals in; a decision
out), so a Temporal workflow can call it deterministically. `advance` runs one step the way
every engine must: a crash inside a step becomes a stored failure, never a lost job.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from corral.pipeline.context import CampaignContext
from corral.pipeline.observability import observe_step
from corral.pipeline.steps import STEPS, WorkspaceLostError
from corral.spec import CampaignSpec
from corral.states import TERMINAL, JobState, Reason
from corral.store import StaleStateError
from corral.store.records import Approval, Job


@dataclass(frozen=True)
class Decision:
    step: str | None
    """The step to run next (a key of steps.STEPS), or None when the job waits or is done."""
    waiting_for: str | None = None
    """Why nothing runs now: "approval", or None for a finished job."""

    @property
    def done(self) -> bool:
        return self.step is None and self.waiting_for is None


DONE = Decision(None)


def decide(job: Job, spec: CampaignSpec, approvals: Sequence[Approval] = ()) -> Decision:
    if job.state in TERMINAL:
        return DONE
    simple = _NEXT.get(job.state)
    if simple is not None:
        return Decision(simple)
    if job.state == JobState.COMMITTED:
        return Decision("request_approval" if spec.approval == "each" else "push")
    if job.state == JobState.AWAITING_APPROVAL:
        return _after_approval(job, approvals)
    if job.state == JobState.CI_FAILED:
        rounds = spec.budgets.job.max_ci_rounds if spec.uses_agent else 0
        return Decision("change" if job.ci_rounds < rounds else "watch")
    raise AssertionError(f"no decision for state {job.state}")


_NEXT = {
    JobState.QUEUED: "prepare",
    JobState.PREPARED: "baseline",
    JobState.BASELINED: "change",
    JobState.CHANGING: "change",
    JobState.GATING: "commit",
    JobState.PUSHED: "open_pr",
    JobState.PR_OPEN: "watch",
}


def _after_approval(job: Job, approvals: Sequence[Approval]) -> Decision:
    """The latest decision on this very diff (an approval of an older commit does not count)."""
    current = [a for a in approvals if a.head_sha in (None, job.head_sha)]
    if not current:
        return Decision(None, waiting_for="approval")
    return Decision("push" if current[-1].decision == "approved" else "reject")


def advance(ctx: CampaignContext, job: Job, step: str) -> Job:
    """Run one step on a job; whatever goes wrong is stored on the job, never lost."""
    with observe_step(ctx, job, step) as observed:  # JSON log lines and a span per step
        return observed.finish(_run_step(ctx, job, step))


def _run_step(ctx: CampaignContext, job: Job, step: str) -> Job:
    try:
        return STEPS[step](ctx, job)
    except StaleStateError:
        raise
    except WorkspaceLostError as exc:
        return ctx.store.transition(
            job.id, JobState.QUEUED, reason=f"starting over: {exc}", reason_code=Reason.ERROR
        )
    except Exception as exc:  # a crashing step fails its job visibly; the others go on
        state = ctx.store.job(job.id).state
        if state in TERMINAL:
            return ctx.store.job(job.id)
        return ctx.store.transition(
            job.id,
            JobState.FAILED,
            reason=f"error in step {step}: {type(exc).__name__}: {exc}",
            reason_code=Reason.ERROR,
        )
