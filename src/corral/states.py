"""The job states of shared/DESIGN.md, the reasons a job ends without a PR, and outcomes.

A leaf module (no imports from corral) so the store, the engines and the surfaces can all
name states without depending on the pipeline's steps.
"""

from __future__ import annotations

from enum import StrEnum


class JobState(StrEnum):
    QUEUED = "queued"
    PREPARED = "prepared"
    BASELINED = "baselined"
    CHANGING = "changing"
    GATING = "gating"
    COMMITTED = "committed"
    AWAITING_APPROVAL = "awaiting_approval"
    PUSHED = "pushed"
    PR_OPEN = "pr_open"
    CI_FAILED = "ci_failed"
    MERGED = "merged"
    CLOSED = "closed"
    FAILED = "failed"
    SKIPPED = "skipped"


TERMINAL = frozenset({JobState.MERGED, JobState.CLOSED, JobState.FAILED, JobState.SKIPPED})


class Reason(StrEnum):
    """Why a job ended without a pull request (or why its PR is where it is)."""

    CLONE_FAILED = "clone_failed"
    AGENT_GAVE_UP = "agent_gave_up"
    GATE_VETOED = "gate_vetoed"
    BUDGET_SPENT = "budget_spent"
    NO_CHANGE = "no_change"
    REJECTED = "rejected"
    PUSH_FAILED = "push_failed"
    ERROR = "error"
    CANCELLED = "cancelled"
    NOT_TARGETED = "not_targeted"
    """The checkout lacks what `targets.has_file` asks for, or has what `exclude_has_file`
    refuses."""


NOT_FAILURES = frozenset({Reason.NO_CHANGE, Reason.NOT_TARGETED})
"""Why a job may end without a PR and yet not have failed (it is not retried either)."""


class Outcome(StrEnum):
    """A job as the fleet owner sees it."""

    NO_PR = "no PR"
    AWAITING_APPROVAL = "awaiting approval"
    PR_OPEN = "PR open"
    PR_FAILED_CI = "PR failed CI"
    MERGED = "merged"
    CLOSED = "closed unmerged"
    IN_PROGRESS = "in progress"


def outcome_of(state: JobState) -> Outcome:
    return _OUTCOMES.get(state, Outcome.IN_PROGRESS)


_OUTCOMES = {
    JobState.FAILED: Outcome.NO_PR,
    JobState.SKIPPED: Outcome.NO_PR,
    JobState.AWAITING_APPROVAL: Outcome.AWAITING_APPROVAL,
    JobState.PR_OPEN: Outcome.PR_OPEN,
    JobState.CI_FAILED: Outcome.PR_FAILED_CI,
    JobState.MERGED: Outcome.MERGED,
    JobState.CLOSED: Outcome.CLOSED,
}


class CampaignVerdict(StrEnum):
    """A campaign as a whole, as scripts want to know it."""

    OK = "ok"
    """Every repository has its PR (open with CI passing, merged or closed) or needed no
    change."""
    FAILED = "failed"
    """Some repository ended without a PR for a failure, or its PR fails CI."""
    PENDING = "pending"
    """Nothing failed, but some jobs wait for approval or are not finished."""
