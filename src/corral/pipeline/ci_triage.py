"""Before a CI failure costs a round of the agent: is it the change's?

A failure the forge or the log puts on the infrastructure (a runner lost, a registry
unreachable, a quota) is recorded and commented on the pull request, never given to the
agent. Any other failure is re-run once first (the forge's re-run API; the local forge runs
its CI again): one that then passes was flaky, and is recorded and commented, not charged.
Each decision is an event on the job, keyed by the commit, so it is made once per commit.
"""

from __future__ import annotations

import re

from corral.forge.base import CIStatus, PullRequest
from corral.pipeline.context import CampaignContext
from corral.store.records import Job

RERUN = "ci_rerun"
PREEXISTING = "ci_preexisting"
FLAKY = "ci_flaky"
INFRASTRUCTURE = "ci_infrastructure"

VERDICTS = {PREEXISTING: "on_base", FLAKY: "flaky", INFRASTRUCTURE: "infrastructure"}
"""The job row's `ci_verdict` for each decision: what `corral status` shows per PR."""


def failure_for_agent(
    ctx: CampaignContext, job: Job, pr: PullRequest, ci: CIStatus
) -> CIStatus | None:
    """The failure to give the agent, or None when it is not the change's (or not yet known:
    a re-run is under way)."""
    if ci.infrastructure:
        _note_once(
            ctx, job, pr, INFRASTRUCTURE, ci.sha,
            f"corral: CI failed on {ci.sha[:12]} for a reason outside this change "
            f"({ci.infrastructure}). It was not handed to the agent; re-run CI once the "
            "infrastructure is back.",
            reason=ci.infrastructure,
        )  # fmt: skip
        return None
    if already_on_base(ctx, job, pr, ci):
        return None
    if _seen(ctx, job, RERUN, ci.sha):
        return ci
    ctx.store.add_event(job.id, RERUN, {"sha": ci.sha})
    if not ctx.forge.rerun_ci(pr):
        return ci
    again = ctx.forge.ci_status(pr)
    ctx.store.save_pull_request(pr.with_changes(ci=again))
    ctx.store.add_event(job.id, "ci", {"state": again.state, "sha": again.sha, "rerun": True})
    if again.state == "failed":
        return failure_for_agent(ctx, job, pr, again)
    if again.state == "passed":
        note_if_flaky(ctx, job, pr, again)
    return None


def already_on_base(ctx: CampaignContext, job: Job, pr: PullRequest, ci: CIStatus) -> bool:
    """Whether every failure CI names on this commit also fails on the base branch (looked
    up once per commit): then the change did not cause it."""
    if _seen(ctx, job, PREEXISTING, ci.sha):
        return True
    if _seen(ctx, job, "ci_base_checked", ci.sha):
        return False
    ctx.store.add_event(job.id, "ci_base_checked", {"sha": ci.sha})
    failures = failure_keys(ci.summary)
    if not failures:
        return False
    base = ctx.forge.base_ci_status(pr)
    if base.state != "failed" or not failures <= failure_keys(base.summary):
        return False
    _note_once(
        ctx, job, pr, PREEXISTING, ci.sha,
        f"corral: CI fails on {ci.sha[:12]}, but every failure it names also fails on "
        f"{pr.base_branch}; the change did not cause it, and it was not handed to the agent.",
    )  # fmt: skip
    return True


_LOCATED = re.compile(r"(?P<file>[\w./@+-]+\.[A-Za-z]\w{0,9}):\d+(?:,\d+)*: (?P<message>.*)$")


def failure_keys(summary: str) -> set[tuple[str, str]]:
    """(file, message) of each located failure in a CI summary: line numbers left out, as a
    change above a failure moves it."""
    keys = set()
    for line in summary.splitlines():
        match = _LOCATED.search(line)
        if match:
            message = re.sub(r"\d+", "#", match["message"]).strip()
            keys.add((match["file"], message))
    return keys


def note_if_flaky(ctx: CampaignContext, job: Job, pr: PullRequest, ci: CIStatus) -> None:
    """CI passed on a commit whose first run failed and was re-run: a flaky failure."""
    if _seen(ctx, job, RERUN, ci.sha):
        _note_once(
            ctx, job, pr, FLAKY, ci.sha,
            f"corral: CI failed on {ci.sha[:12]}, then passed when re-run: a flaky failure, "
            "not handed to the agent.",
        )  # fmt: skip


def _seen(ctx: CampaignContext, job: Job, kind: str, sha: str) -> bool:
    return any(e.kind == kind and e.data.get("sha") == sha for e in ctx.store.events(job.id))


def _note_once(
    ctx: CampaignContext, job: Job, pr: PullRequest, kind: str, sha: str, text: str, **data: str
) -> None:
    if _seen(ctx, job, kind, sha):
        return
    ctx.store.add_event(job.id, kind, {"sha": sha, **data})
    ctx.store.update_job(job.id, ci_verdict=VERDICTS[kind])  # for status, without events
    ctx.forge.comment(pr, text)
