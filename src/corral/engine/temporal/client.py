"""Talking to Temporal: connect, start or attach to a campaign's workflow, ask how far it is,
and tell a held job that someone decided."""

from __future__ import annotations

from temporalio.client import Client, WithStartWorkflowOperation, WorkflowHandle
from temporalio.common import WorkflowIDConflictPolicy
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.service import RPCError, RPCStatusCode

from corral.config import ConfigError
from corral.engine.temporal.messages import CampaignInput, CampaignRef, Progress
from corral.engine.temporal.settings import TemporalSettings
from corral.engine.temporal.workflows import CampaignWorkflow, JobWorkflow


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
