"""The Temporal engine as `corral run` and `corral retry` use it (the `Engine` protocol).

It starts the campaign's workflow, or attaches to the one already running, then follows the
campaign in the store (the record the CLI and dashboard read) until every job is done or
waits for a person; with `wait_for_approval`, until the workflow itself ends. The work
itself is done by `corral worker` processes, anywhere.
"""

from __future__ import annotations

import asyncio
from typing import Any

from temporalio.client import WorkflowExecutionStatus, WorkflowFailureError, WorkflowHandle
from temporalio.service import RPCError

from corral.config import ConfigError
from corral.engine.base import OnChange
from corral.engine.temporal.client import connect, progress, start_or_attach, tell_decided
from corral.engine.temporal.messages import CampaignRef
from corral.engine.temporal.settings import TemporalSettings
from corral.pipeline.context import CampaignContext
from corral.states import JobState
from corral.store import Store
from corral.store.records import Campaign, Job


class TemporalEngineError(RuntimeError):
    """The campaign's workflow ended other than by finishing (failed, terminated...)."""


class TemporalEngine:
    name = "temporal"

    def __init__(
        self,
        settings: TemporalSettings | None = None,
        *,
        wait_for_approval: bool = False,
        poll_s: float = 1.0,
    ) -> None:
        self.settings = settings or TemporalSettings.from_env()
        self.wait_for_approval = wait_for_approval
        """Keep following while jobs wait for approval (the workflow waits either way)."""
        self.poll_s = poll_s

    def binding(self) -> dict[str, Any]:
        """Where the campaign's workflow runs: the address, namespace and task queue (TLS and
        API keys stay in the Temporal configuration of whoever reads this)."""
        return {
            "name": self.name,
            "address": self.settings.connect_config()["target_host"],
            "namespace": self.settings.namespace,
            "task_queue": self.settings.task_queue,
        }

    @classmethod
    def from_binding(cls, binding: dict[str, Any], **options: Any) -> TemporalEngine:
        settings = TemporalSettings.from_env(
            address=binding.get("address"),
            namespace=binding.get("namespace"),
            task_queue=binding.get("task_queue"),
        )
        return cls(settings, **options)

    @staticmethod
    def wake(binding: dict[str, Any], store: Store, campaign: Campaign, job: Job | None) -> str:
        """Signal the job's workflow; an unreachable server only delays the decision (the
        held job re-reads the store every `approval_recheck_s`)."""
        settings = TemporalSettings.from_env(
            address=binding.get("address"), namespace=binding.get("namespace")
        )
        ref = CampaignRef(campaign.id, campaign.name)
        if job is None:
            return _rescan(settings, ref)
        try:
            told = asyncio.run(_tell(settings, ref, job.id))
        except (ConfigError, RPCError) as exc:
            return f"Temporal not told ({exc}): the held job sees the decision on its next look"
        if told:
            return f"told job {job.id}'s workflow on Temporal: it goes on now"
        return f"no workflow of job {job.id} runs on Temporal: the campaign's next run acts on it"

    def run(self, ctx: CampaignContext, on_change: OnChange | None = None) -> None:
        asyncio.run(self._run(ctx, on_change or (lambda job: None)))

    async def _run(self, ctx: CampaignContext, on_change: OnChange) -> None:
        client = await connect(self.settings)
        ref = CampaignRef(ctx.campaign.id, ctx.campaign.name)
        handle = await start_or_attach(client, self.settings, ref)
        seen: dict[int, JobState] = {}
        while True:
            held = self._report(ctx, seen, on_change)
            description = await handle.describe()
            if description.status != WorkflowExecutionStatus.RUNNING:
                self._report(ctx, seen, on_change)
                if description.status != WorkflowExecutionStatus.COMPLETED:
                    raise TemporalEngineError(await _why_it_ended(handle))
                return
            # The query is answered by a worker: asked only when the campaign can have
            # settled with its workflow still running, which takes a job held for a person.
            if held and not self.wait_for_approval and (await progress(handle)).settled:
                self._report(ctx, seen, on_change)
                return
            await asyncio.sleep(self.poll_s)

    @staticmethod
    def _report(ctx: CampaignContext, seen: dict[int, JobState], on_change: OnChange) -> bool:
        """Tell on_change of every job whose state changed; whether one waits for approval."""
        held = False
        for job in ctx.store.jobs(ctx.campaign.id):
            held = held or job.state == JobState.AWAITING_APPROVAL
            if seen.get(job.id) != job.state:
                seen[job.id] = job.state
                on_change(job)
        return held


RESCAN_TIMEOUT_S = 20.0


def _rescan(settings: TemporalSettings, ref: CampaignRef) -> str:
    """Start the campaign's workflow again, or make the running one look at the store."""

    async def rescan() -> None:
        client = await connect(settings)
        await asyncio.wait_for(start_or_attach(client, settings, ref), RESCAN_TIMEOUT_S)

    try:
        asyncio.run(rescan())
    except TimeoutError:
        return "Temporal has no worker answering: the campaign goes on once one polls"
    except (ConfigError, RPCError) as exc:
        return f"Temporal not told ({exc}): run `corral resume` again"
    return "its workflow on Temporal goes on now"


async def _tell(settings: TemporalSettings, ref: CampaignRef, job_id: int) -> bool:
    return await tell_decided(await connect(settings), ref, job_id)


async def _why_it_ended(handle: WorkflowHandle[Any, Any]) -> str:
    try:
        await handle.result()
    except WorkflowFailureError as exc:
        cause: BaseException = exc
        while cause.__cause__ is not None:
            cause = cause.__cause__
        return f"workflow {handle.id} failed: {cause}"
    return f"workflow {handle.id} ended without finishing"
