"""The in-process engine: a thread pool running the campaign's jobs side by side.

Limits it keeps for the whole campaign: `concurrency` jobs at once; the campaign budget
(no job starts once it is spent); the PR-creation rate limit (counted in the store, so it
holds across processes too).
"""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

from corral.engine.base import OnChange
from corral.pipeline.context import CampaignContext
from corral.pipeline.machine import advance, decide
from corral.pipeline.steps import require_model_keys
from corral.states import TERMINAL, JobState, Reason
from corral.store import StaleStateError
from corral.store.records import Job

RATE_LIMITED_STEPS = frozenset({"open_pr"})


class LocalEngine:
    def __init__(
        self,
        workers: int | None = None,
        *,
        wait_for_approval: bool = False,
        poll_s: float = 2.0,
    ) -> None:
        self.workers = workers
        """Jobs at once; default: the campaign's `concurrency`."""
        self.wait_for_approval = wait_for_approval
        """Keep polling the store for approvals instead of returning while jobs wait."""
        self.poll_s = poll_s

    def run(self, ctx: CampaignContext, on_change: OnChange | None = None) -> None:
        """Drive every live job. Interrupted (Ctrl-C), no job or step starts any more and the
        interruption is raised at once, without waiting for the jobs still queued."""
        require_model_keys(ctx.spec)
        run = _CampaignRun(ctx, on_change or (lambda job: None), self)
        jobs = [job for job in ctx.store.jobs(ctx.campaign.id) if job.state not in TERMINAL]
        pool = ThreadPoolExecutor(
            max_workers=self.workers or ctx.spec.concurrency, thread_name_prefix="corral-job"
        )
        try:
            for future in [pool.submit(run.drive, job.id) for job in jobs]:
                future.result()
        except BaseException:
            run.stopping.set()
            pool.shutdown(wait=False, cancel_futures=True)
            raise
        pool.shutdown()


class _CampaignRun:
    """One engine run over one campaign: the shared limits and the per-job driver."""

    def __init__(self, ctx: CampaignContext, on_change: OnChange, engine: LocalEngine) -> None:
        self.ctx = ctx
        self.on_change = on_change
        self.engine = engine
        self._start_lock = threading.Lock()
        self._starting: set[int] = set()
        """Jobs let start by this run that the store does not count as started yet."""
        self._pr_lock = threading.Lock()
        self.stopping = threading.Event()
        """Set when the run is interrupted: the jobs end after the step they are in."""

    def drive(self, job_id: int) -> None:
        """Run the job's steps until it is done, or waits, or a step makes no progress."""
        store = self.ctx.store
        job = store.job(job_id)
        if job.state == JobState.QUEUED and not self._may_start(job):
            return
        try:
            while not self.stopping.is_set():
                decision = decide(job, self.ctx.spec, store.approvals(job.id))
                if decision.waiting_for == "approval" and self.engine.wait_for_approval:
                    time.sleep(self.engine.poll_s)
                    job = store.job(job.id)
                    continue
                if decision.step is None:
                    return
                before = job.state
                job = self._run_step(job, decision.step)
                self._started(job)
                self.on_change(job)
                if job.state == before and decision.step == "watch":
                    return  # nothing new on the PR: it waits for review or CI
        except StaleStateError:
            return  # another worker moved this job on; it is theirs now
        finally:
            self._started(job)

    def _started(self, job: Job) -> None:
        with self._start_lock:
            self._starting.discard(job.id)

    def _run_step(self, job: Job, step: str) -> Job:
        if step in RATE_LIMITED_STEPS and self.ctx.spec.pr_rate_limit is not None:
            with self._pr_lock:
                self._wait_for_pr_slot()
                return advance(self.ctx, job, step)
        return advance(self.ctx, job, step)

    def _may_start(self, job: Job) -> bool:
        """A queued job starts only while the campaign budget lasts; else it is skipped."""
        with self._start_lock:
            spent = budget_spent(self.ctx, starting=len(self._starting))
            if spent is None:
                self._starting.add(job.id)
                return True
        job = self.ctx.store.transition(
            job.id,
            JobState.SKIPPED,
            expect=JobState.QUEUED,
            reason=f"budget spent: {spent}",
            reason_code=Reason.BUDGET_SPENT,
        )
        self.on_change(job)
        return False

    def _wait_for_pr_slot(self) -> None:
        limit = self.ctx.spec.pr_rate_limit
        assert limit is not None
        window = timedelta(seconds=limit.per_s)
        while True:
            now = datetime.now(UTC)
            opened = self.ctx.store.pull_requests_opened_since(self.ctx.campaign.id, now - window)
            if len(opened) < limit.count:
                return
            oldest = opened[-limit.count]
            time.sleep(max(0.05, (oldest + window - now).total_seconds()))


def budget_spent(ctx: CampaignContext, *, starting: int = 0) -> str | None:
    """Why no further job may start (the campaign budget is spent), or None.

    `starting`: jobs let start that have not left `queued` in the store yet. Shared with the
    Temporal engine, whose campaign workflow admits jobs through this check."""
    budget = ctx.spec.budgets.campaign
    store, campaign_id = ctx.store, ctx.campaign.id
    if budget.max_jobs is not None:
        started = store.jobs_started(campaign_id) + starting
        if started >= budget.max_jobs:
            return f"the campaign may start {budget.max_jobs} jobs"
    if budget.max_tokens is None and budget.max_cost_usd is None:
        return None
    used = store.campaign_usage(campaign_id)
    if budget.max_tokens is not None and used.total_tokens >= budget.max_tokens:
        return f"{used.total_tokens} of the campaign's {budget.max_tokens} tokens used"
    if budget.max_cost_usd is not None and used.cost_usd >= budget.max_cost_usd:
        return f"${used.cost_usd:.2f} of the campaign's ${budget.max_cost_usd:.2f} used"
    return None
