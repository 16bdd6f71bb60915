"""A campaign's outcome as its owner sees it: one line per job, counts, and the verdict
(which `corral.cli.exit_codes` maps to what `corral run`, `retry` and `status` exit with)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from corral.forge.base import PullRequest
from corral.states import NOT_FAILURES, CampaignVerdict, JobState, Outcome, outcome_of
from corral.store import Store
from corral.store.records import Campaign, Job


@dataclass(frozen=True)
class JobLine:
    job: Job
    pull_request: PullRequest | None

    @property
    def outcome(self) -> Outcome:
        return self.job.outcome

    @property
    def failed(self) -> bool:
        """Whether this job counts against the campaign (no PR for a failure, or CI red)."""
        return job_failed(self.job)


PR_NOTES = {
    "behind": "behind its base",
    "waiting_ci": "behind its base: the rebase waits for a CI slot",
    "rebased": "rebased onto its moved base",
    "conflicting": "conflicting with its base: being redone",
    "redone": "redone on its moved base",
    "flaky": "CI flaky: re-run, passed",
    "infrastructure": "CI failed for the infrastructure",
    "on_base": "CI fails on the base branch too",
}
"""What the job row's `freshness` and `ci_verdict` mean for its PR, as surfaces say it."""


def pr_notes(job: Job) -> list[str]:
    """The PR's freshness against its base and CI triage's verdict, from the job row alone."""
    return [PR_NOTES[flag] for flag in (job.freshness, job.ci_verdict) if flag in PR_NOTES]


def pr_flag_counts(lines: Sequence[JobLine]) -> dict[str, int]:
    """How many PRs carry each freshness and CI triage flag (of jobs already loaded)."""
    flags = Counter(
        flag for line in lines for flag in (line.job.freshness, line.job.ci_verdict) if flag
    )
    return dict(sorted(flags.items()))


def job_failed(job: Job) -> bool:
    """No PR for a failure (not `no change`), or a PR failing CI."""
    return failed(job.state, job.reason_code)


def failed(state: JobState, reason_code: str | None) -> bool:
    outcome = outcome_of(state)
    if outcome == Outcome.PR_FAILED_CI:
        return True
    return outcome == Outcome.NO_PR and reason_code not in NOT_FAILURES


SETTLED_OUTCOMES = frozenset({Outcome.NO_PR, Outcome.PR_OPEN, Outcome.MERGED, Outcome.CLOSED})


def verdict_of(counts: Mapping[tuple[JobState, str | None], int]) -> CampaignVerdict:
    """The campaign's verdict from how many jobs are in each (state, reason code)."""
    present = [key for key, n in counts.items() if n]
    if any(failed(state, reason) for state, reason in present):
        return CampaignVerdict.FAILED
    if any(outcome_of(state) not in SETTLED_OUTCOMES for state, _ in present):
        return CampaignVerdict.PENDING
    return CampaignVerdict.OK


@dataclass(frozen=True)
class CampaignSummary:
    campaign: Campaign
    lines: list[JobLine]

    @property
    def counts(self) -> Counter[Outcome]:
        return Counter(line.outcome for line in self.lines)

    @property
    def states(self) -> Counter[JobState]:
        return Counter(line.job.state for line in self.lines)

    @property
    def verdict(self) -> CampaignVerdict:
        return verdict_of(Counter((line.job.state, line.job.reason_code) for line in self.lines))

    def to_json(self) -> dict[str, Any]:
        return {
            "campaign": self.campaign.name,
            "verdict": str(self.verdict),
            "paused": self.campaign.paused,
            "counts": {str(k): v for k, v in self.counts.items()},
            "pull_requests": pr_flag_counts(self.lines),
            "jobs": [
                {
                    "id": line.job.id,
                    "repo": line.job.name,
                    "state": str(line.job.state),
                    "outcome": str(line.outcome),
                    "reason_code": line.job.reason_code,
                    "reason": line.job.reason,
                    "pull_request": line.pull_request.url if line.pull_request else None,
                    "ci": line.pull_request.ci.state if line.pull_request else None,
                    "freshness": line.job.freshness,
                    "ci_verdict": line.job.ci_verdict,
                }
                for line in self.lines
            ],
        }


def summarize(store: Store, campaign: Campaign) -> CampaignSummary:
    """The campaign as the store holds it now (its pause too) and a line per job."""
    prs = store.pull_requests_by_job(campaign.id)
    return CampaignSummary(
        store.campaign(campaign.id) or campaign,
        [JobLine(job, prs.get(job.id)) for job in store.jobs(campaign.id)],
    )
