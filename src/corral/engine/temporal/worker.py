"""`corral worker`: one process of the fleet, running workflows and activities.

It polls two queues: the fleet's shared task queue (workflows, and the store reads and
writes any worker may do) and its machine's queue (the steps of the jobs whose checkouts
live in this machine's work folder). Several workers on one machine with one work folder
share that machine queue, so a replacement worker picks up a dead one's jobs where they
stopped.
"""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from temporalio.worker import Worker

from corral.engine.temporal.activities import CorralActivities, machine_queue
from corral.engine.temporal.client import connect
from corral.engine.temporal.settings import TemporalSettings
from corral.engine.temporal.workflows import CampaignWorkflow, JobWorkflow
from corral.pipeline.context import Runtime

SHARED_ACTIVITY_SLOTS = 8
"""Store reads and writes at once, besides the steps (they take milliseconds)."""


async def run_worker(
    settings: TemporalSettings,
    runtime: Runtime,
    max_jobs: int,
    stop: asyncio.Event,
    on_ready: Callable[[str], None] = lambda _detail: None,
) -> None:
    """Serve until `stop` is set; a step cut short is retried by whoever picks it up next.
    `on_ready` hears what the worker serves once it polls."""
    client = await connect(settings)
    queue = machine_queue(settings.task_queue, runtime.work_dir)
    with ThreadPoolExecutor(
        max_workers=max_jobs + SHARED_ACTIVITY_SLOTS, thread_name_prefix="corral-step"
    ) as pool:
        activities = CorralActivities(runtime, queue, pool)
        shared = Worker(
            client,
            task_queue=settings.task_queue,
            workflows=[CampaignWorkflow, JobWorkflow],
            activities=activities.shared,
            max_concurrent_activities=SHARED_ACTIVITY_SLOTS,
        )
        machine = Worker(
            client,
            task_queue=queue,
            activities=activities.on_machine,
            max_concurrent_activities=max_jobs,
        )
        try:
            async with shared, machine:
                on_ready(
                    f"task queue {settings.task_queue}, machine queue {queue}, "
                    f"{max_jobs} job step(s) at once"
                )
                await stop.wait()
        finally:
            activities.close()


def worker_command(
    settings: TemporalSettings,
    runtime: Runtime,
    max_jobs: int,
    on_ready: Callable[[str], None] = lambda _detail: None,
) -> None:
    """Run a worker until SIGINT or SIGTERM."""

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await run_worker(settings, runtime, max_jobs, stop, on_ready)

    asyncio.run(main())
