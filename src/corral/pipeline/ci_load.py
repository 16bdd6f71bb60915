"""CI load: at most `ci_concurrency` of a campaign's PRs with CI running at once.

A PR's CI runs from the push of a commit until CI's verdict on that commit (the store
counts both: jobs just pushed, and open PRs whose CI has not answered on their head). Every
push of the pipeline (a new PR's, a CI-fix round's, a refresh's) takes a slot first; with
none free it does not push, and the job waits (the engines retry it once another job has
moved on). Within one process the check and the push are one step under the context's
lock; workers on several machines read the same count from the store, so two pushes in the
same instant on two machines may both take the last slot.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from corral.forge.base import PullRequest
from corral.pipeline.context import CampaignContext
from corral.store.records import Job

WAITING_FOR_CI_SLOT = "ci_slot_wait"
"""The event a job records when its push waits for a CI slot (once per wait)."""


@contextmanager
def ci_slot(ctx: CampaignContext, *, holds_one: bool = False) -> Iterator[bool]:
    """Whether a push may go out now; the push happens inside the block, so the next
    caller counts it. `holds_one`: the pushing PR's own CI is still running (its new push
    replaces that run, so it needs no further slot)."""
    if ctx.spec.ci_concurrency is None:  # pushes need not queue behind one another
        yield True
        return
    with ctx.ci_slots:
        yield ci_slot_free(ctx, holds_one=holds_one)


def ci_slot_free(ctx: CampaignContext, *, holds_one: bool = False) -> bool:
    """A look without taking the slot (before work that only a push would need)."""
    limit = ctx.spec.ci_concurrency
    return limit is None or ctx.store.ci_in_flight(ctx.campaign.id) - int(holds_one) < limit


def in_flight(pr: PullRequest) -> bool:
    """Whether this PR's CI is running: no verdict yet on its head."""
    return pr.state == "open" and (pr.ci.sha != pr.head_sha or pr.ci.state == "pending")


def note_wait(ctx: CampaignContext, job: Job, why: str) -> None:
    """Record that the job waits for a CI slot (once per wait, not once per look)."""
    events = ctx.store.events(job.id)
    if not events or events[-1].kind != WAITING_FOR_CI_SLOT:
        limit = ctx.spec.ci_concurrency
        ctx.store.add_event(job.id, WAITING_FOR_CI_SLOT, {"why": why, "limit": limit})
