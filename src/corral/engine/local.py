"""The in-process engine: a thread pool running the campaign's jobs side by side.

The main thread schedules: it admits queued jobs (engine/admission.py: pause, rollout waves,
campaign budget), hands at most `concurrency` jobs to the pool, and parks a job held for a
person outside the pool, so a held job never occupies a worker slot. With
`wait_for_approval` it polls the store for decisions on parked jobs and drives them on.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from datetime import UTC, datetime, timedelta
from enum import Enum
from typing import Any

from corral.engine import admission
from corral.engine.base import OnChange
from corral.pipeline.context import CampaignContext
from corral.pipeline.machine import advance
from corral.states import JobState
from corral.store import StaleStateError, Store
from corral.store.records import Campaign, Job


class Driven(Enum):
    STOPPED = "stopped"
    """Done, or waiting for review or CI: the next run looks again."""
    PARKED = "parked"
    """Waiting for a person's decision."""
    CI_WAIT = "ci_wait"
    """Its push waits for a CI slot (`ci_concurrency`): driven again once another job
    has moved on."""


class LocalEngine:
    name = "local"

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

    def binding(self) -> dict[str, Any]:
        return {"name": self.name}

    @classmethod
    def from_binding(cls, binding: dict[str, Any], **options: Any) -> LocalEngine:
        return cls(**options)

    @staticmethod
    def wake(binding: dict[str, Any], store: Store, campaign: Campaign, job: Job | None) -> str:
        """A local run waiting for approvals polls the store; nothing to tell it."""
        if job is None:
            return f"the campaign's next run goes on: corral resume {campaign.name}"
        return "a waiting `corral run --wait` or the campaign's next run acts on it"

    def run(self, ctx: CampaignContext, on_change: OnChange | None = None) -> None:
        """Drive every live job. Interrupted (Ctrl-C), no job or step starts any more and the
        interruption is raised at once, without waiting for the jobs still queued."""
        _CampaignRun(ctx, on_change or (lambda job: None), self).go()


class _CampaignRun:
    """One engine run over one campaign: the scheduler (main thread) and the job driver."""

    def __init__(self, ctx: CampaignContext, on_change: OnChange, engine: LocalEngine) -> None:
        self.ctx = ctx
        self.on_change = on_change
        self.engine = engine
        self.slots = engine.workers or ctx.spec.concurrency
        self._pr_lock = threading.Lock()
        self.stopping = threading.Event()
        """Set when the run is interrupted: the jobs end after the step they are in."""

    def go(self) -> None:
        live = [job.id for job in self.ctx.live_jobs()]
        pool = ThreadPoolExecutor(max_workers=self.slots, thread_name_prefix="corral-job")
        try:
            self._schedule(pool, deque(live))
        except BaseException:
            self.stopping.set()
            pool.shutdown(wait=False, cancel_futures=True)
            raise
        pool.shutdown()

    def _schedule(self, pool: ThreadPoolExecutor, pending: deque[int]) -> None:
        running: dict[Future[Driven], int] = {}
        parked: set[int] = set()
        held: list[int] = []
        ci_waiting: list[int] = []
        while True:
            self._start(pool, pending, running, held)
            if not running and not (parked and self.engine.wait_for_approval):
                return
            timeout = self.engine.poll_s if parked and self.engine.wait_for_approval else None
            done, _ = wait(running, timeout=timeout, return_when=FIRST_COMPLETED)
            moved_on = False
            for future in done:
                job_id = running.pop(future)
                driven = future.result()
                if driven == Driven.PARKED:
                    parked.add(job_id)
                if driven == Driven.CI_WAIT:
                    ci_waiting.append(job_id)
                else:
                    moved_on = True
            if done:  # something settled: held jobs may be let start now
                pending.extend(held)
                held.clear()
            if moved_on:  # a CI slot may be free now (never released by a waiter alone)
                pending.extend(ci_waiting)
                ci_waiting.clear()
            if self.engine.wait_for_approval:
                pending.extend(self._decided(parked))

    def _start(
        self,
        pool: ThreadPoolExecutor,
        pending: deque[int],
        running: dict[Future[Driven], int],
        held: list[int],
    ) -> None:
        """Admit pending jobs while worker slots are free."""
        while pending and len(running) < self.slots:
            batch = [pending.popleft() for _ in range(min(len(pending), self.slots - len(running)))]
            starting = sum(self.ctx.store.job(i).state == JobState.QUEUED for i in running.values())
            verdict = admission.admit(self.ctx, batch, starting=starting)
            for job_id in verdict.skipped:
                self.on_change(self.ctx.store.job(job_id))
            held.extend(verdict.held)
            for job_id in verdict.admitted:
                running[pool.submit(self.drive, job_id)] = job_id

    def _decided(self, parked: set[int]) -> list[int]:
        """Parked jobs someone decided on: they go back to the queue."""
        store, spec = self.ctx.store, self.ctx.spec
        jobs = [store.job(job_id) for job_id in parked]
        ready = [
            job.id
            for job in jobs
            if not admission.next_move(job, spec, admission.approvals_read(store, job)).park
        ]
        parked.difference_update(ready)
        return ready

    def drive(self, job_id: int) -> Driven:
        """Run the job's steps until it is done, parks, or a step makes no progress."""
        store = self.ctx.store
        job = store.job(job_id)
        try:
            while not self.stopping.is_set():
                move = admission.next_move(job, self.ctx.spec, admission.approvals_read(store, job))
                if move.park:
                    return Driven.PARKED
                if move.step is None:
                    return Driven.STOPPED
                before = job.state
                job = self._run_step(job, move)
                self.on_change(job)
                if admission.waits_for_ci_slot(move.step, before, job):
                    return Driven.CI_WAIT
                if admission.stops_after(move.step, before, job):
                    return Driven.STOPPED
        except StaleStateError:
            pass  # another worker moved this job on; it is theirs now
        return Driven.STOPPED

    def _run_step(self, job: Job, move: admission.Move) -> Job:
        assert move.step is not None
        if not move.paced:
            return advance(self.ctx, job, move.step)
        with self._pr_lock:
            self._wait_for_pr_slot()
            return advance(self.ctx, job, move.step)

    def _wait_for_pr_slot(self) -> None:
        limit = self.ctx.spec.pr_rate_limit
        assert limit is not None
        while True:
            now = datetime.now(UTC)
            since = now - timedelta(seconds=limit.per_s)
            opened = self.ctx.store.pull_requests_opened_since(self.ctx.campaign.id, since)
            wait_for = admission.pr_slot_wait(opened, now, limit)
            if not wait_for:  # zero (a slot is free) or None (none to wait for here)
                return
            time.sleep(wait_for.total_seconds())
