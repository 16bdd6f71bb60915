"""The activities: the pipeline's own steps (`pipeline.machine.advance`) and the store reads
and writes the workflows need. Every side effect of the Temporal engine happens here.

Steps run on the machine that holds the job's checkout (its *machine queue*); the rest runs
on the fleet's shared queue. Steps run in threads (the pipeline is synchronous) while the
activity heartbeats, so a worker that dies is noticed within the heartbeat timeout.
"""

from __future__ import annotations

import asyncio
import hashlib
import socket
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

from temporalio import activity
from temporalio.exceptions import ApplicationError

from corral.config import ConfigError
from corral.engine import admission
from corral.engine.admission import Admission
from corral.engine.temporal.messages import (
    AdmitRequest,
    CampaignRef,
    CampaignView,
    JobFailure,
    JobView,
    StepRequest,
    StepsDone,
)
from corral.pipeline.context import CampaignContext, Runtime, context_for
from corral.pipeline.machine import advance
from corral.states import TERMINAL, JobState, Reason
from corral.store import StaleStateError, Store, StoreError
from corral.store.records import Job

T = TypeVar("T")

NOT_RETRYABLE = "CorralConfigurationError"
"""The type of errors that no retry can fix (a worker on another store, an invalid spec)."""


def machine_queue(task_queue: str, work_dir: Path) -> str:
    """The queue of the workers sharing this machine's checkouts (same host, same work dir)."""
    key = hashlib.sha256(str(work_dir.resolve()).encode()).hexdigest()[:8]
    return f"{task_queue}@{socket.gethostname()}:{key}"


class CorralActivities:
    """One worker's activities, over its store and its machine's work folder."""

    def __init__(self, runtime: Runtime, queue: str, pool: ThreadPoolExecutor) -> None:
        self.runtime = runtime
        self.queue = queue
        self.pool = pool
        self._store: Store | None = None
        self._contexts: dict[int, CampaignContext] = {}
        self._lock = threading.Lock()

    def close(self) -> None:
        if self._store is not None:
            self._store.close()

    @property
    def shared(self) -> list[Callable[..., Any]]:
        """What any worker of the fleet may run."""
        return [self.claim, self.load_campaign, self.admit, self.load_job, self.fail_job]

    @property
    def on_machine(self) -> list[Callable[..., Any]]:
        """What must run where the job's checkout is."""
        return [self.run_step, self.run_steps]

    # shared queue

    @activity.defn(name="corral.claim")
    async def claim(self) -> str:
        """This worker's machine takes the job: its steps go to this machine's queue."""
        return self.queue

    @activity.defn(name="corral.load_campaign")
    async def load_campaign(self, ref: CampaignRef) -> CampaignView:
        return await self._in_thread(self._load_campaign, ref)

    @activity.defn(name="corral.admit")
    async def admit(self, request: AdmitRequest) -> Admission:
        return await self._in_thread(self._admit, request)

    @activity.defn(name="corral.load_job")
    async def load_job(self, ref: CampaignRef, job_id: int) -> JobView:
        return await self._in_thread(self._load_job, ref, job_id)

    @activity.defn(name="corral.fail_job")
    async def fail_job(self, failure: JobFailure) -> Job:
        return await self._in_thread(self._fail_job, failure)

    # machine queue

    @activity.defn(name="corral.run_step")
    async def run_step(self, request: StepRequest) -> Job:
        """One pipeline step, heartbeating while it runs (workflows from before step chains)."""
        return await self._heartbeating(request.step, self._run_step, request)

    @activity.defn(name="corral.run_steps")
    async def run_steps(self, request: StepRequest) -> StepsDone:
        """The step asked for, then the job's next ones while the workflow has nothing to do
        between them (see `_chain_on`): one activity round trip instead of one a step."""
        return await self._heartbeating(request.step, self._run_steps, request)

    async def _heartbeating(self, what: str, fn: Callable[..., T], *args: Any) -> T:
        work = asyncio.get_running_loop().run_in_executor(self.pool, self._guarded, fn, *args)
        interval = _heartbeat_interval(activity.info().heartbeat_timeout)
        while True:
            done, _ = await asyncio.wait({work}, timeout=interval)
            if done:
                return work.result()
            activity.heartbeat(what)

    # the bodies, run in threads

    def _load_campaign(self, ref: CampaignRef) -> CampaignView:
        ctx = self._context(ref)
        live = [job.id for job in ctx.store.jobs(ref.id) if job.state not in TERMINAL]
        limit = ctx.spec.pr_rate_limit
        opened: list[datetime] = []
        if limit is not None:
            since = datetime.now(UTC) - timedelta(seconds=limit.per_s)
            opened = ctx.store.pull_requests_opened_since(ref.id, since)
        return CampaignView(ctx.campaign.spec, live, opened)

    def _admit(self, request: AdmitRequest) -> Admission:
        """Queued jobs start as admission.admit says (pause, waves, budget)."""
        ctx = self._context(request.campaign)
        starting = sum(
            ctx.store.job(job_id).state == JobState.QUEUED for job_id in request.admitted_before
        )
        return admission.admit(ctx, request.job_ids, starting=starting)

    def _load_job(self, ref: CampaignRef, job_id: int) -> JobView:
        store = self._context(ref).store
        return JobView(store.job(job_id), store.approvals(job_id))

    def _fail_job(self, failure: JobFailure) -> Job:
        store = self._context(failure.campaign).store
        job = store.job(failure.job_id)
        if job.state in TERMINAL:
            return job
        return store.transition(
            job.id, JobState.FAILED, reason=failure.reason, reason_code=Reason.ERROR
        )

    def _run_step(self, request: StepRequest) -> Job:
        ctx = self._context(request.campaign)
        job = ctx.store.job(request.job_id)
        if job.state != request.from_state:
            return job  # an earlier attempt got this far before its worker was lost
        try:
            return advance(ctx, job, request.step)
        except StaleStateError:
            return ctx.store.job(job.id)  # a lost attempt still running moved it on

    def _run_steps(self, request: StepRequest) -> StepsDone:
        ctx = self._context(request.campaign)
        job = ctx.store.job(request.job_id)
        if job.state != request.from_state:
            return StepsDone(job, None, job.state)  # an earlier attempt got this far
        step, before = request.step, job.state
        while True:
            try:
                job = advance(ctx, job, step)
            except StaleStateError:
                return StepsDone(ctx.store.job(job.id), step, before)
            following = _chain_on(ctx, step, before, job)
            if following is None:
                return StepsDone(job, step, before)
            step, before = following, job.state

    def _context(self, ref: CampaignRef) -> CampaignContext:
        with self._lock:
            if self._store is None:
                self._store = Store.open(self.runtime.store_url)
            store = self._store
        campaign = store.campaign(ref.id)
        if campaign is None or campaign.name != ref.name:
            # Retryable: another worker of the fleet, on the right store, may take it.
            message = (
                f"this worker's store ({self.runtime.store_url}) does not hold campaign "
                f"{ref.name!r} (#{ref.id}): point it at the store `corral run` used"
            )
            activity.logger.error(message)
            raise ApplicationError(message, type="CorralWrongStore")
        with self._lock:
            ctx = self._contexts.get(ref.id)
            if ctx is None or ctx.campaign.spec != campaign.spec:
                ctx = context_for(campaign, self.runtime, store)
                self._contexts[ref.id] = ctx
            return ctx

    async def _in_thread(self, fn: Callable[..., T], *args: Any) -> T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self.pool, self._guarded, fn, *args)

    @staticmethod
    def _guarded(fn: Callable[..., T], *args: Any) -> T:
        """Errors no retry can fix fail the activity for good; others are retried."""
        try:
            return fn(*args)
        except (ConfigError, StoreError) as exc:
            if isinstance(exc, StaleStateError):
                raise
            raise ApplicationError(str(exc), type=NOT_RETRYABLE, non_retryable=True) from exc


def _chain_on(ctx: CampaignContext, step: str, before: JobState, job: Job) -> str | None:
    """The step to run next in the same activity, or None when the workflow has its part to
    play first: the job parks, stops, is done, waits for a CI slot, or its next step needs a
    PR-creation slot from the campaign."""
    if admission.stops_after(step, before, job):
        return None
    move = admission.next_move(job, ctx.spec, admission.approvals_read(ctx.store, job))
    return None if move.park or move.paced else move.step


def _heartbeat_interval(timeout: timedelta | None) -> float:
    return 10.0 if timeout is None else max(0.2, timeout.total_seconds() / 4)
