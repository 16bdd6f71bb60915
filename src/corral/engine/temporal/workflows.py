"""The workflows: they decide, the activities act.

`JobWorkflow` is one repository's life: it asks `pipeline.machine.decide` (the same state
machine as the in-process engine) for the next step and runs it as an activity on the
machine holding the checkout, until the job is done or its PR waits for review or CI. A
job held for approval waits for the `decided` signal (and re-reads the store now and then,
for decisions made without one).

`CampaignWorkflow` fans out one `JobWorkflow` per live job, at most `concurrency` running at
once (a job held for a person does not count), admits each through the campaign budget, and
hands out PR-creation slots on its own timers: one workflow decides for every worker, so
the concurrency and the PR-creation rate limit hold across the whole fleet.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any, Concatenate, ParamSpec, TypeVar

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ChildWorkflowError, TimeoutType
from temporalio.exceptions import TimeoutError as ActivityTimeoutError

with workflow.unsafe.imports_passed_through():
    from corral.engine import admission
    from corral.engine.admission import Admission
    from corral.engine.temporal.activities import CorralActivities
    from corral.engine.temporal.messages import (
        AdmitRequest,
        CampaignInput,
        CampaignView,
        JobFailure,
        JobInput,
        JobView,
        Progress,
        StepRequest,
        StepsDone,
    )
    from corral.spec import CampaignSpec
    from corral.states import JobState
    from corral.store.records import Job

TRANSIENT_RETRIES = RetryPolicy(
    initial_interval=timedelta(seconds=1),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(minutes=1),
    maximum_attempts=10,
    non_retryable_error_types=["CorralConfigurationError"],
)
"""Store hiccups and lost workers are retried with backoff. A vetoed change is no error:
the step stores it as the job's outcome, and the workflow sees a failed job, not a retry."""

SHORT = timedelta(minutes=2)
STEP_TIMEOUTS = {
    "prepare": timedelta(minutes=30),
    "baseline": timedelta(hours=2),
    "commit": timedelta(hours=2),
    "request_approval": SHORT,
    "reject": SHORT,
    "push": timedelta(minutes=30),
    "open_pr": timedelta(minutes=10),
    "watch": timedelta(hours=2),
}
CI_SLOT_WAIT = "ci-slot-wait"
"""The patch that lets a job whose push waits for a CI slot (`ci_concurrency`) sleep and try
again (reached only by such a push, which no history recorded before it has)."""
STEP_CHAINS = "step-chains"
"""The patch that runs a job's consecutive steps in one activity (`corral.run_steps`) and
reads the store through local activities: fewer round trips through the server per job."""
GATE_ALLOWANCE = timedelta(hours=2)
"""Beyond the agent's own wall-time budget, what a change step's gate runs may take."""
P = ParamSpec("P")
T = TypeVar("T")


def step_timeout(step: str, spec: CampaignSpec) -> timedelta:
    if step == "change":
        return timedelta(seconds=spec.budgets.job.max_wall_s) + GATE_ALLOWANCE
    return STEP_TIMEOUTS[step]


def chain_timeout(spec: CampaignSpec) -> timedelta:
    """A chain of steps may run each step once (a lost worker is noticed by its heartbeat)."""
    return sum((step_timeout(step, spec) for step in (*STEP_TIMEOUTS, "change")), timedelta())


@workflow.defn(name="corral.job")
class JobWorkflow:
    def __init__(self) -> None:
        self._decided = False
        self._pr_slot = False

    @workflow.signal(name="decided")
    def decided(self) -> None:
        """Someone approved or rejected the job's diff (recorded in the store)."""
        self._decided = True

    @workflow.signal(name="pr_slot")
    def pr_slot(self) -> None:
        """The campaign lets this job open its pull request now."""
        self._pr_slot = True

    @workflow.run
    async def run(self, inp: JobInput) -> JobState:
        self.inp = inp
        self.spec = CampaignSpec.model_validate(inp.spec)
        try:
            return await self._drive()
        except ActivityError as exc:
            reason = f"the job's workflow gave up: {_cause(exc)}"
            failed: Job = await _shared(
                CorralActivities.fail_job, JobFailure(inp.campaign, inp.job_id, reason)
            )
            return failed.state

    async def _drive(self) -> JobState:
        self._chains = workflow.patched(STEP_CHAINS)
        queue = self.inp.machine_queue or await self._claim()
        view = await self._load()
        job, approvals = view.job, view.approvals
        while True:
            move = admission.next_move(job, self.spec, approvals)
            if move.park:
                view = await self._wait_for_decision(queue)
                job, approvals = view.job, view.approvals
                continue
            if move.step is None:
                return job.state
            if move.paced:
                await self._wait_for_pr_slot()
            step: str | None = move.step
            before = job.state
            if self._chains and not move.paced:  # a paced step alone: its slot is short
                done, queue = await self._run_steps(queue, job, move.step)
                job, step, before = done.job, done.step, done.before
            else:
                job, queue = await self._run_step(queue, job, move.step)
            if move.paced:
                await self._tell_campaign(CampaignWorkflow.pr_slot_done)
            if step is None:
                continue  # an earlier attempt had moved the job on: decide again
            if admission.waits_for_ci_slot(step, before, job) and workflow.patched(CI_SLOT_WAIT):
                # CI of the other PRs ends on the forge, unseen by this workflow: look again
                await workflow.sleep(timedelta(seconds=self.inp.pace.ci_slot_recheck_s))
                continue
            if admission.stops_after(step, before, job):
                return job.state  # nothing new on the PR: it waits for review or CI

    async def _run_step(self, queue: str, job: Job, step: str) -> tuple[Job, str]:
        """Run the step where the checkout is; if that machine is gone, on another one (which
        finds no checkout and starts the job over from a clean one)."""
        timeout = step_timeout(step, self.spec)
        moved: Job
        moved, queue = await self._on_machine(CorralActivities.run_step, queue, job, step, timeout)
        return moved, queue

    async def _run_steps(self, queue: str, job: Job, step: str) -> tuple[StepsDone, str]:
        """The step and the job's next ones while the workflow has no part to play between
        them (activities._chain_on), in one activity, where the checkout is."""
        timeout = chain_timeout(self.spec)
        done: StepsDone
        done, queue = await self._on_machine(CorralActivities.run_steps, queue, job, step, timeout)
        return done, queue

    async def _on_machine(
        self,
        activity: Callable[[CorralActivities, StepRequest], Awaitable[T]],
        queue: str,
        job: Job,
        step: str,
        timeout: timedelta,
    ) -> tuple[T, str]:
        request = StepRequest(self.inp.campaign, job.id, step, job.state)
        pace = self.inp.pace
        while True:
            try:
                result = await workflow.execute_activity_method(
                    activity,
                    request,
                    task_queue=queue,
                    start_to_close_timeout=timeout,
                    schedule_to_start_timeout=timedelta(seconds=pace.worker_lost_after_s),
                    heartbeat_timeout=timedelta(seconds=pace.heartbeat_timeout_s),
                    retry_policy=TRANSIENT_RETRIES,
                )
                return result, queue
            except ActivityError as exc:
                if not _machine_lost(exc):
                    raise
                workflow.logger.warning("no worker on %s took job %s: moving it", queue, job.id)
                queue = await self._claim()

    async def _wait_for_decision(self, queue: str) -> JobView:
        await self._tell_campaign(CampaignWorkflow.job_parked)
        while True:
            with contextlib.suppress(TimeoutError):  # re-read the store now and then
                await workflow.wait_condition(
                    lambda: self._decided,
                    timeout=timedelta(seconds=self.inp.pace.approval_recheck_s),
                )
            self._decided = False
            view = await self._load()
            if not admission.next_move(view.job, self.spec, view.approvals).park:
                await self._tell_campaign(CampaignWorkflow.job_resumed)
                return view
            if workflow.info().is_continue_as_new_suggested():
                workflow.continue_as_new(
                    JobInput(
                        self.inp.campaign, self.inp.job_id, self.inp.spec, self.inp.pace, queue
                    )
                )

    async def _wait_for_pr_slot(self) -> None:
        if workflow.info().parent is None:
            return  # a job run on its own has no campaign pacing it
        self._pr_slot = False
        await self._tell_campaign(CampaignWorkflow.pr_slot_wanted)
        await workflow.wait_condition(lambda: self._pr_slot)

    async def _tell_campaign(self, signal: Callable[[CampaignWorkflow, int], None]) -> None:
        parent = workflow.info().parent
        if parent is None:
            return
        handle = workflow.get_external_workflow_handle(parent.workflow_id)
        await handle.signal(signal, self.inp.job_id)

    async def _claim(self) -> str:
        read = _local if self._chains else _shared
        queue: str = await read(CorralActivities.claim)
        return queue

    async def _load(self) -> JobView:
        read = _local if self._chains else _shared
        view: JobView = await read(CorralActivities.load_job, self.inp.campaign, self.inp.job_id)
        return view


@workflow.defn(name="corral.campaign")
class CampaignWorkflow:
    def __init__(self) -> None:
        self._pending: deque[int] = deque()
        self._active: set[int] = set()
        self._parked: set[int] = set()
        self._admitted: list[int] = []
        self._pr_wanted: deque[int] = deque()
        self._pr_opening: set[int] = set()
        self._pr_opened: list[datetime] = []
        """When PR creations (this run's, and the store's recent ones) were over."""
        self._admitting: list[int] = []
        self._held: list[int] = []
        """Queued jobs admission holds back (paused, or their wave may not start yet)."""
        self._loaded = False
        self._wake = False
        self._following: set[asyncio.Task[None]] = set()

    @workflow.update(name="rescan")
    async def rescan(self) -> Progress:
        """Take on live jobs not yet running (`corral retry` queued some, or a run attaches);
        returns once they are known, so the caller's view of the campaign is current."""
        await workflow.wait_condition(lambda: self._loaded)
        self._release_held()
        await self._add_new_live_jobs()
        self._wake = True
        return self.progress()

    @workflow.signal(name="job_parked")
    def job_parked(self, job_id: int) -> None:
        if job_id in self._active:
            self._active.discard(job_id)
            self._parked.add(job_id)
        self._wake = True

    @workflow.signal(name="job_resumed")
    def job_resumed(self, job_id: int) -> None:
        if job_id in self._parked:
            self._parked.discard(job_id)
            self._active.add(job_id)
        self._wake = True

    @workflow.signal(name="pr_slot_wanted")
    def pr_slot_wanted(self, job_id: int) -> None:
        self._pr_wanted.append(job_id)
        self._wake = True

    @workflow.signal(name="pr_slot_done")
    def pr_slot_done(self, job_id: int) -> None:
        if job_id in self._pr_opening:
            self._pr_opening.discard(job_id)
            self._pr_opened.append(workflow.now())
        self._wake = True

    @workflow.query(name="progress")
    def progress(self) -> Progress:
        pending = [*self._admitting, *self._pending]  # admitting: out of the queue, not started
        return Progress(sorted(self._active), sorted(self._parked), pending)

    @workflow.run
    async def run(self, inp: CampaignInput) -> Progress:
        self.inp = inp
        self._chains = workflow.patched(STEP_CHAINS)
        view = await self._load()
        self.spec = CampaignSpec.model_validate(view.spec)
        self._pending.extend(view.live_jobs)
        self._pr_opened = list(view.pr_opened_at)
        self._loaded = True
        while True:
            await self._start_jobs()
            await self._grant_pr_slots()
            busy = self._pending or self._active or self._parked or self._admitting
            if not busy and workflow.all_handlers_finished():
                return self.progress()
            with contextlib.suppress(TimeoutError):  # a PR slot frees up
                await workflow.wait_condition(lambda: self._wake, timeout=self._next_grant_in())
            self._wake = False

    async def _start_jobs(self) -> None:
        free = self.spec.concurrency - len(self._active)
        if free <= 0 or not self._pending:
            return
        batch = [self._pending.popleft() for _ in range(min(free, len(self._pending)))]
        self._admitting = batch
        request = AdmitRequest(self.inp.campaign, batch, list(self._admitted))
        admit = _local if self._chains else _shared
        admitted: Admission = await admit(CorralActivities.admit, request)
        self._admitted += admitted.admitted
        self._active.update(admitted.admitted)  # before any await: a rescan must see them
        self._held += admitted.held
        self._admitting = []
        for job_id in admitted.admitted:
            handle = await workflow.start_child_workflow(
                JobWorkflow.run,
                JobInput(
                    self.inp.campaign, job_id, self.spec.model_dump(mode="json"), self.inp.pace
                ),
                id=self.inp.campaign.job_workflow_id(job_id),
            )
            self._following.add(asyncio.create_task(self._follow(job_id, handle)))

    async def _follow(
        self, job_id: int, handle: workflow.ChildWorkflowHandle[JobWorkflow, JobState]
    ) -> None:
        try:
            await handle
        except ChildWorkflowError as exc:
            workflow.logger.error("job %s's workflow failed: %s", job_id, exc.cause or exc)
        finally:
            self._following.discard(asyncio.current_task())
            self.pr_slot_done(job_id)  # a job that ended while opening its PR frees its slot
            self._active.discard(job_id)
            self._parked.discard(job_id)
            self._release_held()  # a job settled: a held wave may start now
            self._wake = True

    def _release_held(self) -> None:
        self._pending.extend(self._held)
        self._held = []

    async def _grant_pr_slots(self) -> None:
        """At most `count` PR creations under way or over within the last `per_s` seconds:
        counted from when each was over, so the limit holds on the forge's side too."""
        limit = self.spec.pr_rate_limit
        while self._pr_wanted and limit is not None:
            since = workflow.now() - timedelta(seconds=limit.per_s)
            self._pr_opened = [t for t in self._pr_opened if t > since]
            if self._pr_slot_wait() != timedelta(0):
                return
            job_id = self._pr_wanted.popleft()
            self._pr_opening.add(job_id)
            child = workflow.get_external_workflow_handle(self.inp.campaign.job_workflow_id(job_id))
            await child.signal(JobWorkflow.pr_slot)

    def _pr_slot_wait(self) -> timedelta | None:
        limit = self.spec.pr_rate_limit
        assert limit is not None
        return admission.pr_slot_wait(
            self._pr_opened, workflow.now(), limit, under_way=len(self._pr_opening)
        )

    def _next_grant_in(self) -> timedelta | None:
        """When the oldest finished PR creation leaves the window, if that frees a slot (a
        creation under way must end first otherwise: its signal wakes the workflow)."""
        if not self._pr_wanted or self.spec.pr_rate_limit is None:
            return None
        return self._pr_slot_wait()

    async def _add_new_live_jobs(self) -> None:
        view = await self._load()
        known = {*self._pending, *self._active, *self._parked, *self._admitting, *self._held}
        self._pending.extend(job_id for job_id in view.live_jobs if job_id not in known)

    async def _load(self) -> CampaignView:
        read = _local if self._chains else _shared
        view: CampaignView = await read(CorralActivities.load_campaign, self.inp.campaign)
        return view


async def _shared(
    method: Callable[Concatenate[CorralActivities, P], Awaitable[T]], *args: Any
) -> T:
    """An activity any worker of the fleet may run (store reads and writes)."""
    return await workflow.execute_activity_method(
        method, args=list(args), start_to_close_timeout=SHORT, retry_policy=TRANSIENT_RETRIES
    )


async def _local(method: Callable[Concatenate[CorralActivities, P], Awaitable[T]], *args: Any) -> T:
    """A store read as a local activity: run by the worker running the workflow task, no
    round trip through a task queue (a claim so takes that worker's machine)."""
    return await workflow.execute_local_activity_method(
        method, args=list(args), start_to_close_timeout=SHORT, retry_policy=TRANSIENT_RETRIES
    )


def _machine_lost(exc: ActivityError) -> bool:
    cause = exc.cause
    return isinstance(cause, ActivityTimeoutError) and cause.type == TimeoutType.SCHEDULE_TO_START


def _cause(exc: BaseException) -> str:
    while exc.__cause__ is not None:
        exc = exc.__cause__
    return f"{type(exc).__name__}: {exc}"
