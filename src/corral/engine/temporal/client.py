"""Talking to Temporal: connect, start or attach to a campaign's workflow, ask how far it is,
and tell a held job that someone decided."""

from __future__ import annotations

import asyncio

from temporalio.client import Client, WithStartWorkflowOperation, WorkflowHandle
from temporalio.common import WorkflowIDConflictPolicy
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.service import RPCError, RPCStatusCode

from corral.config import ConfigError
from corral.engine.temporal.messages import CampaignInput, CampaignRef, Progress
from corral.engine.temporal.settings import TemporalSettings
from corral.engine.temporal.workflows import CampaignWorkflow, JobWorkflow
from corral.store import Store, StoreError


class TemporalUnavailableError(ConfigError):
    """The Temporal server named by the settings cannot be reached."""


async def connect(settings: TemporalSettings) -> Client:
    config = settings.connect_config()
    try:
        return await Client.connect(**config, data_converter=pydantic_data_converter)
    except RuntimeError as exc:  # the SDK's core reports connection failures this way
        raise TemporalUnavailableError(
            f"cannot reach Temporal at {config['target_host']}: {exc}"
        ) from exc


async def start_or_attach(
    client: Client, settings: TemporalSettings, campaign: CampaignRef
) -> WorkflowHandle[CampaignWorkflow, Progress]:
    """The campaign's running workflow, or a new one; either way it has taken on every live
    job in the store when this returns (which needs a worker polling the task queue)."""
    start = WithStartWorkflowOperation(
        CampaignWorkflow.run,
        CampaignInput(campaign, settings.pace),
        id=campaign.workflow_id,
        task_queue=settings.task_queue,
        id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
    )
    await client.execute_update_with_start_workflow(
        "rescan", start_workflow_operation=start, result_type=Progress
    )
    handle = await start.workflow_handle()
    return handle


async def progress(handle: WorkflowHandle[CampaignWorkflow, Progress]) -> Progress:
    return await handle.query(CampaignWorkflow.progress)


async def tell_decided(client: Client, campaign: CampaignRef, job_id: int) -> bool:
    """Signal the job's workflow that its approval was decided; False if none is running."""
    handle = client.get_workflow_handle_for(JobWorkflow.run, campaign.job_workflow_id(job_id))
    try:
        await handle.signal(JobWorkflow.decided)
    except RPCError as exc:
        if exc.status == RPCStatusCode.NOT_FOUND:
            return False
        raise
    return True


def tell_decided_command(settings: TemporalSettings, store_url: str, job_id: int) -> bool:
    """After `corral approve/reject`: wake the job's workflow so it acts on the decision now.
    False when no workflow of the job runs (the decision applies at the campaign's next run)."""
    store = Store.open(store_url)
    try:
        job = store.job(job_id)
        campaign = store.campaign(job.campaign_id)
    finally:
        store.close()
    if campaign is None:
        raise StoreError(f"job {job_id} belongs to no recorded campaign")
    ref = CampaignRef(campaign.id, campaign.name)

    async def tell() -> bool:
        return await tell_decided(await connect(settings), ref, job_id)

    return asyncio.run(tell())
