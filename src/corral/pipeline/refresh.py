"""Stale pull requests: when an open PR's base branch moves, bring the PR onto it.

`watch` calls `refresh` on every look at an open PR, before it reads CI. The base branch is
fetched (the forge's own checkout, so a hosted forge's mirror is refreshed too; the files are
not checked out: what reads them resets them first); when it
moved and the campaign's `refresh` setting allows it now:

- the PR's change is replayed on the new base tip by git's own merge machinery, as one
  commit with the change's message (`git merge-tree --write-tree`: no working tree, no
  hooks, nothing half-done left behind on a conflict);
- when that applies cleanly, the gate runs again on the rebased tree; if it passes, the
  branch is force-pushed with a lease on the head corral pushed last (someone else's push
  is never overwritten), and CI runs on the new head;
- when it conflicts, or the gate refuses the rebased tree, the change is redone on the new
  base: the job goes back to `prepared` (a fresh baseline on the new base, the agent or the
  command again, the gate, commit) and its push replaces the branch of the same PR.

`refresh: never` only records that the PR is behind; `daily` rebases a PR at most once a
day. The job row keeps the PR's freshness (behind, rebased, conflicting while it is redone,
redone), which `corral status` and the dashboard show without reading events.
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from pathlib import Path

from corral.forge.base import CIStatus, ForgeError, PullRequest
from corral.forge.git import git, git_ok
from corral.git.command import git_text, run_git
from corral.pipeline.ci_load import ci_slot, ci_slot_free, in_flight, note_wait
from corral.pipeline.context import CampaignContext
from corral.states import JobState
from corral.store.records import Job

BEHIND = "behind"
WAITING = "waiting_ci"
"""Behind, and its rebase waits for a CI slot (`ci_concurrency`): the engine looks again."""
REBASED = "rebased"
CONFLICTING = "conflicting"
"""The rebase conflicted (or the rebased tree failed the gate): the change is being redone."""
REDONE = "redone"

DAILY = timedelta(days=1)


def refresh(ctx: CampaignContext, job: Job, pr: PullRequest) -> Job:
    """Bring an open PR onto its moved base branch as the campaign's `refresh` says; the job
    as it is afterwards (back at `prepared` when its change is being redone)."""
    root = Path(job.checkout) if job.checkout else ctx.checkout_dir(job)
    try:
        # fetched only: the rebase reads objects, and a gate or a redo resets the files first
        tip = ctx.forge.checkout(job.repo, root, job.base_branch, files=False).base_sha
    except ForgeError:
        return job  # the base cannot be read now: the next look tries again
    if job.checkout != str(root):
        job = ctx.store.update_job(job.id, checkout=str(root))
    if tip == job.base_sha or (job.head_sha and _contains(root, job.head_sha, tip)):
        return _mark(ctx, job, None if job.freshness in (BEHIND, WAITING) else job.freshness)
    if not _due(ctx, job):
        return _mark(ctx, job, BEHIND)
    if not job.head_sha or not git_ok("cat-file", "-e", f"{job.head_sha}^{{commit}}", cwd=root):
        return redo(ctx, job, pr, tip, "its last pushed commit is not at hand")
    rebased = _replay(ctx, root, job.head_sha, tip)
    if rebased is None:
        return redo(ctx, job, pr, tip, "does not apply cleanly")
    return _regate_and_push(ctx, job, pr, tip, rebased)


def _regate_and_push(
    ctx: CampaignContext, job: Job, pr: PullRequest, tip: str, rebased: str
) -> Job:
    from corral.pipeline.steps import gate_reason, job_gate, job_workspace

    if not ci_slot_free(ctx, holds_one=in_flight(pr)):  # no gate spent on a push that waits
        note_wait(ctx, job, "refresh")
        return _mark(ctx, job, WAITING)
    moved = dataclasses.replace(job, base_sha=tip)  # the gate's base, not stored until pushed
    workspace = job_workspace(ctx, moved, at=rebased)
    recorder = ctx.store.job_recorder(job.id, final_gate=True)
    result = job_gate(ctx, moved, workspace, ctx.runner(workspace), recorder).check()
    if not result.ok:
        return redo(ctx, job, pr, tip, f"fails the gate once rebased ({gate_reason(result)})")
    root = Path(job.checkout or "")
    with ci_slot(ctx, holds_one=in_flight(pr)) as free:
        if not free:
            note_wait(ctx, job, "refresh")
            return _mark(ctx, job, WAITING)
        try:
            ctx.forge.push(root, job.repo, pr.branch, expect=job.head_sha)
        except ForgeError as exc:
            ctx.store.add_event(job.id, "refresh_failed", {"base": tip, "error": str(exc)})
            return _mark(ctx, job, BEHIND)
        ctx.store.save_pull_request(pr.with_changes(head_sha=rebased, ci=CIStatus("none")))
    ctx.store.add_event(
        job.id, "refreshed", {"base": tip, "from": job.head_sha or "", "sha": rebased}
    )
    ctx.forge.comment(
        pr,
        f"corral: {pr.base_branch} moved to {tip[:12]}; this change was rebased onto it "
        f"({rebased[:12]}), passed the gate again and was force-pushed.",
    )
    job = ctx.store.update_job(
        job.id,
        base_sha=tip,
        head_sha=rebased,
        freshness=REBASED,
        ci_verdict=None,
        refreshed_at=datetime.now(UTC),
    )
    if job.state == JobState.CI_FAILED:  # its CI is to be read again, on the new head
        return ctx.store.transition(
            job.id, JobState.PR_OPEN, expect=job.state, reason=f"rebased onto {tip[:12]}"
        )
    return job


def redo(ctx: CampaignContext, job: Job, pr: PullRequest, tip: str, why: str) -> Job:
    """Do the change again on the new base: the job starts over from a fresh baseline, and
    its push replaces the PR's branch (the same PR)."""
    ctx.store.add_event(job.id, "refresh_conflict", {"base": tip, "why": why})
    ctx.forge.comment(
        pr,
        f"corral: {pr.base_branch} moved to {tip[:12]} and this change {why}; "
        "it is being redone on the new base.",
    )
    ctx.store.update_job(
        job.id,
        base_sha=tip,
        head_sha=None,
        gated_tree=None,
        ci_rounds=0,
        freshness=CONFLICTING,
        ci_verdict=None,
        refreshed_at=datetime.now(UTC),
    )
    reason = f"redoing the change on {pr.base_branch} at {tip[:12]}: it {why}"
    return ctx.store.transition(job.id, JobState.PREPARED, expect=job.state, reason=reason)


def settle(ctx: CampaignContext, job: Job) -> Job:
    """A change redone on the new base has its PR again (open_pr calls this)."""
    if job.freshness == CONFLICTING:
        return ctx.store.update_job(job.id, freshness=REDONE)
    return job


def _due(ctx: CampaignContext, job: Job) -> bool:
    """Whether the campaign's `refresh` setting lets the PR be refreshed now."""
    policy = ctx.spec.refresh
    if policy == "never":
        return False
    if policy == "daily" and job.refreshed_at is not None:
        return datetime.now(UTC) - job.refreshed_at >= DAILY
    return True


def _contains(root: Path, head: str, tip: str) -> bool:
    """Whether the PR's head already has the base's tip (nothing to bring in)."""
    return git_ok("merge-base", "--is-ancestor", tip, head, cwd=root)


def _replay(ctx: CampaignContext, root: Path, head: str, tip: str) -> str | None:
    """The PR's change (tip's merge base with head, to head) as one commit on tip, with the
    head's message; None when it conflicts."""
    from corral.pipeline.steps import commit_identity

    merged = run_git(
        ["merge-tree", "--write-tree", "--no-messages", tip, head], repo=root, check=False
    )
    if merged.returncode != 0:
        return None
    tree = merged.stdout.decode().split("\n", 1)[0].strip()
    message = git("log", "-1", "--format=%B", head, cwd=root)
    commit = ["commit-tree", tree, "-p", tip, "-m", message]
    return git_text(commit, repo=root, env=commit_identity(ctx)).strip()


def _mark(ctx: CampaignContext, job: Job, freshness: str | None) -> Job:
    if freshness == job.freshness:
        return job
    return ctx.store.update_job(job.id, freshness=freshness)
